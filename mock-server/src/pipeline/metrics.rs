//! Prometheus metrics for `GET /metrics`: calls by method, protocol and code, a latency
//! histogram by method, and the resources stored, by kind and status (counted at scrape).

use prometheus_client::{
    collector::Collector,
    encoding::{text::encode, DescriptorEncoder, EncodeMetric},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::ConstGauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime},
};

use coreweave_api::rpc::Method;
use tonic::Code;

use crate::{
    model::{lifecycle::Observed, store::Store, OrgId},
    pipeline::journal::Protocol,
};

type Labels = Vec<(&'static str, String)>;
/// Method, protocol and code: static strings, so counting a call allocates nothing.
type CallLabels = [(&'static str, &'static str); 3];
type MethodLabels = [(&'static str, &'static str); 1];
type Histograms = Family<MethodLabels, Histogram, fn() -> Histogram>;

/// The counters the calls update.
///
/// A family finds a label set's counter by hashing the labels; the hot path instead keeps a
/// handle to each counter in a table indexed by method, protocol and code, filled on first
/// use (so `/metrics` lists only the label sets that were counted).
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    calls: Family<CallLabels, Counter>,
    latency: Histograms,
    handles: Arc<Handles>,
}

/// How many codes, protocols and methods the handle tables have room for.
const CODES: usize = 17;
const PROTOCOLS: usize = 4;
const METHODS: usize = Method::ALL.len();

#[derive(Debug)]
struct Handles {
    calls: Box<[OnceLock<Counter>]>,
    latency: [OnceLock<Histogram>; METHODS],
}

impl Default for Handles {
    fn default() -> Self {
        Self {
            calls: (0..METHODS * PROTOCOLS * CODES)
                .map(|_| OnceLock::new())
                .collect(),
            latency: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        fn histogram() -> Histogram {
            // 50 µs to about 13 s.
            Histogram::new(exponential_buckets(0.000_05, 4.0, 10))
        }
        Self {
            calls: Family::default(),
            latency: Family::new_with_constructor(histogram),
            handles: Arc::default(),
        }
    }
}

impl Metrics {
    /// Counts one call, authenticated or not.
    pub(crate) fn record(&self, method: Method, protocol: Protocol, code: Code, latency_ms: f64) {
        let calls = || {
            let labels = [
                ("method", method.name()),
                ("protocol", protocol.as_str()),
                ("code", crate::pipeline::faults::code_label(code)),
            ];
            self.calls.get_or_create(&labels).clone()
        };
        let latency = || {
            self.latency
                .get_or_create(&[("method", method.name())])
                .clone()
        };
        let (m, p, c) = (method as usize, protocol as usize, code as usize);
        // Every index is in range; a protocol or code added later only loses the shortcut.
        match self.handles.calls.get((m * PROTOCOLS + p) * CODES + c) {
            Some(handle) if p < PROTOCOLS && c < CODES => handle.get_or_init(calls).inc(),
            _ => calls().inc(),
        };
        match self.handles.latency.get(m) {
            Some(handle) => handle.get_or_init(latency).observe(latency_ms / 1e3),
            None => latency().observe(latency_ms / 1e3),
        }
    }

    /// The metrics in the Prometheus (OpenMetrics) text format.
    ///
    /// The resource gauges count what `store` holds as each organization sees it at `now`.
    pub(crate) fn render(
        &self,
        store: &Store,
        delay: Duration,
        now: impl Fn(&OrgId) -> SystemTime,
    ) -> String {
        let mut registry = Registry::with_prefix("coreweave_mock");
        registry.register(
            "calls",
            "API calls by method, protocol and code",
            self.calls.clone(),
        );
        registry.register(
            "call_latency_seconds",
            "API call latency by method",
            self.latency.clone(),
        );
        registry.register_collector(Box::new(Resources::count(store, delay, now)));
        let mut text = String::new();
        if encode(&mut text, &registry).is_err() {
            text.clear();
        }
        text
    }
}

/// The resources stored at scrape time, by kind and status.
#[derive(Debug)]
struct Resources(Vec<(Labels, i64)>);

impl Resources {
    fn count(store: &Store, delay: Duration, now: impl Fn(&OrgId) -> SystemTime) -> Self {
        let mut counts: std::collections::BTreeMap<(&'static str, &'static str), i64> =
            std::collections::BTreeMap::new();
        store.each_org(None, |org, data| {
            let now = now(org);
            let vpcs = data
                .vpcs
                .all()
                .map(|t| ("vpc", t.lifecycle.observe(now, delay)));
            let gateways = data
                .gateways
                .all()
                .map(|t| ("gateway", t.lifecycle.observe(now, delay)));
            for (kind, observed) in vpcs.chain(gateways) {
                if let Some(status) = status_name(observed) {
                    *counts.entry((kind, status)).or_default() += 1;
                }
            }
        });
        Self(
            counts
                .into_iter()
                .map(|((kind, status), n)| {
                    (
                        vec![("kind", kind.to_owned()), ("status", status.to_owned())],
                        n,
                    )
                })
                .collect(),
        )
    }
}

fn status_name(observed: Observed) -> Option<&'static str> {
    match observed {
        Observed::Creating => Some("STATUS_CREATING"),
        Observed::Ready => Some("STATUS_READY"),
        Observed::Updating => Some("STATUS_UPDATING"),
        Observed::Deleting => Some("STATUS_DELETING"),
        Observed::Gone => None,
    }
}

impl Collector for Resources {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "resources",
            "Resources stored, by kind and status",
            None,
            gauge.metric_type(),
        )?;
        for (labels, count) in &self.0 {
            ConstGauge::new(*count).encode(family.encode_family(labels)?)?;
        }
        Ok(())
    }
}
