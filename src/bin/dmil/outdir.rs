//! The `--out` folder of `dmil train`: claimed before training, so a folder that cannot take
//! the results fails the run at once instead of after it, and locked until the results are
//! published, so two runs cannot mix their files.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use dmil::{Error, Result};

/// The lock file inside the output folder. It is left in place after a run: removing it
/// would let a third run lock a fresh file while a second still holds the old one.
const LOCK_NAME: &str = ".dmil.lock";

/// An output folder claimed by this run: created, checked to take every target file, and
/// locked (an exclusive lock on [`LOCK_NAME`]) until the value is dropped.
///
/// The lock is held for the whole run, not only while publishing: a second run on the same
/// folder is refused before it trains rather than after. A run whose process dies releases
/// its lock with it (the operating system drops the locks of a closed file).
pub struct OutDir {
    dir: PathBuf,
    /// Held for its lock.
    _lock: File,
}

impl OutDir {
    /// Creates `dir` if missing and claims it for results named `targets`.
    ///
    /// # Errors
    /// [`Error::Config`] when `dir` is not a folder, a target is a folder, or another run holds
    /// the lock ("another dmil run is writing to DIR"); [`Error::Io`] naming the path when the
    /// folder cannot be created or written, or an existing target cannot be written.
    pub fn claim(dir: &Path, targets: &[&str]) -> Result<OutDir> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Config(format!(
                "{}: --out must be a folder, and this is a file",
                dir.display()
            )));
        }
        fs::create_dir_all(dir).map_err(io(dir))?;

        let lock_path = dir.join(LOCK_NAME);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Config(format!(
                    "another dmil run is writing to {} (it holds {}); wait for it to finish or \
                     choose another --out",
                    dir.display(),
                    lock_path.display()
                )))
            }
            Err(TryLockError::Error(source)) => {
                return Err(Error::Io {
                    path: lock_path,
                    source,
                })
            }
        }

        for name in targets {
            check_target(&dir.join(name))?;
        }
        let probe = dir.join(format!(".dmil-probe.{}", std::process::id()));
        File::create(&probe).map_err(io(dir))?;
        fs::remove_file(&probe).map_err(io(&probe))?;
        Ok(OutDir {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The path of `name` inside the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Where this run stages `name` before publishing it: a hidden name unique to this
    /// process, so even a run that ignored the lock could not take another's staged file.
    pub fn staged(&self, name: &str) -> PathBuf {
        self.dir
            .join(format!(".{name}.{}.staged", std::process::id()))
    }

    /// Moves the staged files over their targets once every target is known to accept them,
    /// so a failure leaves the earlier results together, not half replaced; then releases the
    /// folder.
    ///
    /// # Errors
    /// As [`OutDir::claim`] for a target that became unusable during the run (the staged
    /// files are then removed); [`Error::Io`] naming the file that was missing, the staged one
    /// or the target, when a rename fails.
    pub fn publish(self, staged: &[PathBuf], targets: &[PathBuf]) -> Result<()> {
        if let Err(e) = targets.iter().try_for_each(|t| check_target(t)) {
            staged.iter().for_each(|s| drop(fs::remove_file(s)));
            return Err(e);
        }
        for (from, to) in staged.iter().zip(targets) {
            fs::rename(from, to).map_err(|source| Error::Io {
                path: if from.exists() { to } else { from }.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Refuses a target that is a folder, or an existing file this run cannot write.
fn check_target(target: &Path) -> Result<()> {
    match fs::metadata(target) {
        Ok(meta) if meta.is_dir() => Err(Error::Config(format!(
            "{}: is a folder; it cannot receive results",
            target.display()
        ))),
        Ok(_) => OpenOptions::new()
            .write(true)
            .open(target)
            .map(drop)
            .map_err(|source| Error::Io {
                path: target.to_path_buf(),
                source,
            }),
        Err(_) => Ok(()),
    }
}
