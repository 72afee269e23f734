//! Replacing a file atomically: `fix --write`.
//!
//! The new text goes to a temporary file in the target's own directory (a rename is atomic only
//! within one file system), gets the target's permissions, is flushed to disk, then renamed over
//! the target. A reader sees the old file or the new one, never a mix; on any failure the target
//! is untouched and the temporary file is removed. A symbolic link is followed: its target is
//! replaced and the link stays a link.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Replaces the file at `path` with `text`. A read-only file is refused even when the process
/// could write it (root), because read-only says the owner wants it left alone.
pub fn replace(path: &Path, text: &str) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let metadata = fs::metadata(&target)?;
    if metadata.permissions().readonly() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "file is read-only",
        ));
    }
    let directory = target.parent().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "file has no parent directory")
    })?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".pss-fix-")
        .tempfile_in(directory)?;
    temporary.write_all(text.as_bytes())?;
    temporary
        .as_file()
        .set_permissions(metadata.permissions())?;
    temporary.as_file().sync_all()?;
    temporary.persist(&target).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.yaml");
        fs::write(&path, "old\n").expect("write");
        replace(&path, "new\n").expect("replaced");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new\n");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_and_follows_symlinks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("target.yaml");
        fs::write(&target, "old\n").expect("write");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        replace(&link, "new\n").expect("replaced");
        assert!(fs::symlink_metadata(&link)
            .expect("stat")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&target).expect("read"), "new\n");
        let mode = fs::metadata(&target).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn refuses_read_only_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.yaml");
        fs::write(&path, "old\n").expect("write");
        let mut permissions = fs::metadata(&path).expect("stat").permissions();
        permissions.set_readonly(true);
        fs::set_permissions(&path, permissions).expect("chmod");
        let error = replace(&path, "new\n").expect_err("refused");
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(fs::read_to_string(&path).expect("read"), "old\n");
    }
}
