//! Deterministic scenarios: generated samples → OpenMetrics → `promtool tsdb
//! create-blocks-from openmetrics` → a Prometheus started on those blocks.
//!
//! Timestamps are seconds at fixed past times (promtool reads seconds; milliseconds are silently
//! taken as seconds and land in the year 58874). Each scenario gets its own Prometheus, which
//! scrapes nothing, so no live data ever overlaps the synthetic history.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
    process::Command,
};

use crate::{
    install,
    prometheus::{Options, Prometheus},
};

/// Write OpenMetrics with `write`, turn it into TSDB blocks and start a Prometheus on them.
pub fn serve(write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> Prometheus {
    serve_chunks(vec![Box::new(write)])
}

/// Writes one OpenMetrics file.
pub type WriteFile<'a> = Box<dyn FnOnce(&mut BufWriter<File>) -> io::Result<()> + 'a>;

/// Like [`serve`] for data written in several files (large fleets: promtool holds a block in
/// memory, so smaller files bound its RSS). Blocks of different files may overlap in time.
pub fn serve_chunks(writers: Vec<WriteFile<'_>>) -> Prometheus {
    serve_chunks_with(Options::default(), writers)
}

/// Like [`serve_chunks`] with Prometheus started on `options` (external labels, a route prefix;
/// its `data_dir` is the backfilled one).
pub fn serve_chunks_with(options: Options, writers: Vec<WriteFile<'_>>) -> Prometheus {
    if let Err(e) = install::ensure_installed() {
        panic!("testkit: {e}");
    }
    let work = tempfile::Builder::new()
        .prefix("gregg-backfill-")
        .tempdir()
        .expect("cannot create a temporary directory");
    let data = work.path().join("data");
    for (i, write) in writers.into_iter().enumerate() {
        let input = work.path().join(format!("input-{i}.om"));
        {
            let file = File::create(&input).expect("cannot create the OpenMetrics file");
            let mut out = BufWriter::with_capacity(1 << 20, file);
            write(&mut out).expect("cannot write the OpenMetrics file");
            out.flush().expect("cannot write the OpenMetrics file");
        }
        create_blocks(&input, &data);
        let _ = std::fs::remove_file(&input);
    }
    // The blocks must outlive the server reading them: the Prometheus adopts the directory.
    let mut prometheus = Prometheus::start(Options {
        data_dir: Some(data),
        ..options
    });
    prometheus.adopt(work);
    prometheus
}

fn create_blocks(input: &Path, data: &Path) {
    let output = Command::new("promtool")
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
        ])
        .arg(input)
        .arg(data)
        .output()
        .expect("cannot run promtool");
    assert!(
        output.status.success(),
        "promtool failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
