//! openraft's own storage test suite, run against the log store and the state machine,
//! each test case on fresh stores in a temporary directory.

use leasehold::driver::StoreOptions;
use leasehold_server::{LogStore, StateMachine, TypeConfig};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::{ErrorSubject, ErrorVerb, StorageError};
use tempfile::TempDir;

/// Builds a log store and a state machine sharing one fresh temporary directory.
struct TempStores {
    /// Small segments, so purging and truncating cross segment boundaries.
    options: StoreOptions,
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for TempStores {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        let dir = TempDir::new().map_err(opening)?;
        let log = LogStore::open_with(dir.path(), self.options).map_err(opening)?;
        let sm = StateMachine::open(dir.path()).map_err(opening)?;
        Ok((dir, log, sm))
    }
}

fn opening(e: std::io::Error) -> StorageError<TypeConfig> {
    StorageError::from_io_error(ErrorSubject::Store, ErrorVerb::Read, e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_suite_default_segments() {
    Suite::test_all(TempStores {
        options: StoreOptions::default(),
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_suite_tiny_segments() {
    Suite::test_all(TempStores {
        options: StoreOptions {
            segment_bytes: 64,
            ..StoreOptions::default()
        },
    })
    .await
    .unwrap();
}
