//! Block files on disk: `<data_dir>/blocks/<tenant id, 8 hex digits>/<block id, 16 hex
//! digits>.block`, written under a temporary name, fsynced, then renamed (and the
//! directory fsynced), so a visible file is always a whole block.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::store::keys::TenantId;

const EXTENSION: &str = "block";
const TEMPORARY: &str = "block-tmp";

pub(super) fn tenant_dir(data_dir: &Path, tenant: TenantId) -> PathBuf {
    data_dir.join("blocks").join(format!("{:08x}", tenant.0))
}

pub(super) fn block_path(data_dir: &Path, tenant: TenantId, id: u64) -> PathBuf {
    tenant_dir(data_dir, tenant).join(format!("{id:016x}.{EXTENSION}"))
}

/// A block file being written; [`PendingFile::commit`] makes it visible.
pub(super) struct PendingFile {
    temporary: PathBuf,
    target: PathBuf,
}

impl PendingFile {
    pub(super) fn create(
        data_dir: &Path,
        tenant: TenantId,
        id: u64,
    ) -> std::io::Result<(PendingFile, BufWriter<File>)> {
        let target = block_path(data_dir, tenant, id);
        let temporary = target.with_extension(TEMPORARY);
        fs::create_dir_all(tenant_dir(data_dir, tenant))?;
        let file = File::create(&temporary)?;
        Ok((
            PendingFile { temporary, target },
            BufWriter::with_capacity(1 << 20, file),
        ))
    }

    /// fsyncs the file, renames it into place and fsyncs the directory.
    pub(super) fn commit(self, file: File) -> std::io::Result<PathBuf> {
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temporary, &self.target)?;
        if let Some(dir) = self.target.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(self.target.clone())
    }

    pub(super) fn abandon(self) {
        let _ = fs::remove_file(&self.temporary);
    }
}

/// Deletes block files (and leftovers of interrupted writes) that `known` does not
/// list: builds that crashed before their catalog entry was committed.
pub(super) fn remove_unlisted(
    data_dir: &Path,
    known: &dyn Fn(TenantId, u64) -> bool,
) -> std::io::Result<usize> {
    let root = data_dir.join("blocks");
    let Ok(tenants) = fs::read_dir(&root) else {
        return Ok(0);
    };
    let mut removed = 0;
    for tenant_entry in tenants {
        let tenant_entry = tenant_entry?;
        let Some(tenant) = tenant_entry
            .file_name()
            .to_str()
            .and_then(|name| u32::from_str_radix(name, 16).ok())
            .map(TenantId)
        else {
            continue;
        };
        for file in fs::read_dir(tenant_entry.path())? {
            let path = file?.path();
            let id = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .and_then(|stem| u64::from_str_radix(stem, 16).ok());
            let finished = path.extension().and_then(|e| e.to_str()) == Some(EXTENSION);
            let listed = finished && id.is_some_and(|id| known(tenant, id));
            if !listed {
                tracing::info!(path = %path.display(), "removing a block file no catalog entry lists (an interrupted build)");
                fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
