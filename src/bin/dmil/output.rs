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

/// The largest checkpoint `eval` and `predict` read: 4 GiB, far above any DMIL the command
/// line can train (ROSMAP's is about 2 MB), and small enough to fail early on a wrong file.
pub const MAX_CHECKPOINT_BYTES: u64 = 4 << 30;

/// The largest JSON table `pid --table` reads: 64 MiB, far above the text of the largest
/// table the exact solver accepts (16384 cells).
pub const MAX_TABLE_BYTES: u64 = 64 << 20;

/// Refuses an input `path` that is not a regular file (`/dev/zero`, a folder, a pipe, which
/// would be read without end or not at all) or that holds more than `limit` bytes.
///
/// # Errors
/// [`Error::Io`] when its metadata cannot be read; [`Error::Config`] naming the file and the
/// limit otherwise.
pub fn check_input_file(path: &Path, what: &str, limit: u64) -> Result<()> {
    let meta = fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(Error::Config(format!(
            "{}: not a regular file; expected {what}",
            path.display()
        )));
    }
    if meta.len() > limit {
        return Err(Error::Config(format!(
            "{}: {} bytes, over the {} limit for {what}",
            path.display(),
            meta.len(),
            human_bytes(limit)
        )));
    }
    Ok(())
}

/// `bytes` in GiB or MiB, for the limits above.
fn human_bytes(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}
