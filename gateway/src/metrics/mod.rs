//! Everything about metrics, in one place: the gateway's own counters (`registry.rs`,
//! built from the plain stats of the receivers, the plugins, the tail sampler and
//! remote-write), the series metrics plugins report, their rendering for Prometheus
//! (`exposition.rs`), the `GET /metrics` route served on the query port
//! (`endpoint.rs`), and the remote-write pusher (`remote_write/`).
//!
//! The point model itself is plain data in `crate::model`, shared with the plugin host
//! that produces points; this module reads every other module's stats and nothing
//! imports it except the wiring in `lib.rs`, the config and the plugin CLI.

mod endpoint;
pub(crate) mod exposition;
pub(crate) mod registry;
pub(crate) mod remote_write;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

pub(crate) use endpoint::{MetricsSources, router};

use crate::model::MetricPoint;
use crate::pipeline::Pipeline;
use crate::plugin::PluginKind;
use remote_write::RemoteWriteConfig;

/// `metrics:` in the config: what happens to the series of metrics plugins besides
/// `GET /metrics`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Push the metrics plugins' series with Prometheus remote-write. Default: absent (off).
    pub remote_write: Option<RemoteWriteConfig>,
}

/// The series every metrics plugin collects at `now_unix_nanos` (a guest call each:
/// call off the async workers). What `/metrics` shows after the gateway's own counters
/// and what `metrics.remote_write` pushes.
pub(crate) fn series_points(pipeline: &Pipeline, now_unix_nanos: u64) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for plugin in pipeline.plugins() {
        if plugin.kind() == PluginKind::Metrics {
            points.extend(plugin.collect(now_unix_nanos));
        }
    }
    points
}

/// Gives every point of `points` the label `name="value"`, replacing one it had (the
/// tenant a series belongs to is not the plugin's to say).
pub(crate) fn label_points(points: &mut [MetricPoint], name: &str, value: &str) {
    for point in points {
        point.labels.retain(|(label, _)| label != name);
        point.labels.insert(0, (name.to_owned(), value.to_owned()));
    }
}

pub(crate) fn unix_nanos_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
