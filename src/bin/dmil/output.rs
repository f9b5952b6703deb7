//! Writing results: stdout that never panics, atomic files, JSON, percentages.

/// `println!` for results: when the reader has gone away (`dmil predict | head`) the program
/// ends quietly with status 0, and when stdout cannot be written (a full disk) it ends with an
/// error and status 1, instead of panicking as `println!` does.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            crate::output::stdout_failed(e);
        }
    }};
}

/// `eprintln!` for progress and error messages: a write that fails (the reader of stderr has
/// gone away, as in `dmil compare 2>&1 | head -1`) is dropped instead of panicking as
/// `eprintln!` does. The run goes on, since its results still go to stdout, where a closed
/// pipe ends it quietly (see [`outln`]).
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

use std::fs;
use std::io::Write;
use std::path::Path;

use dmil::{Error, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder that is synced and
/// renamed over the target, so a crash leaves either the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.map_err(io)
}

/// Ends the program after a failed write to stdout; see [`outln`].
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    errln!("error: writing to stdout: {e}");
    std::process::exit(1);
}

/// Prints a JSON value on stdout as one line.
pub fn print_json(value: &serde_json::Value) {
    outln!("{value}");
}

/// A fraction as a percentage with two decimals.
pub fn pct(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}
