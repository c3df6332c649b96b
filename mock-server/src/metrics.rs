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

use coreweave_api::rpc::Method;
use tonic::Code;

use crate::{context::MockState, journal::Protocol, lifecycle::Observed};

type Labels = Vec<(&'static str, String)>;
/// Method, protocol and code: static strings, so counting a call allocates nothing.
type CallLabels = [(&'static str, &'static str); 3];
type MethodLabels = [(&'static str, &'static str); 1];
type Histograms = Family<MethodLabels, Histogram, fn() -> Histogram>;

/// The counters the calls update.
#[derive(Debug, Clone)]
pub struct Metrics {
    calls: Family<CallLabels, Counter>,
    latency: Histograms,
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
        }
    }
}

impl Metrics {
    /// Counts one call, authenticated or not.
    pub fn record(&self, method: Method, protocol: Protocol, code: Code, latency_ms: f64) {
        let labels = [
            ("method", method.name()),
            ("protocol", protocol.as_str()),
            ("code", crate::faults::code_label(code)),
        ];
        self.calls.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&[("method", method.name())])
            .observe(latency_ms / 1e3);
    }

    /// The metrics in the Prometheus (OpenMetrics) text format.
    pub fn render(&self, state: &MockState) -> String {
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
        registry.register_collector(Box::new(Resources::count(state)));
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
    fn count(state: &MockState) -> Self {
        let mut counts: std::collections::BTreeMap<(&'static str, &'static str), i64> =
            std::collections::BTreeMap::new();
        let delay = state.transition_delay;
        state.store.each_org(None, |org, data| {
            let now = state.now(org);
            let vpcs = data
                .vpcs
                .all()
                .map(|(_, t)| ("vpc", t.lifecycle.observe(now, delay)));
            let gateways = data
                .gateways
                .all()
                .map(|(_, t)| ("gateway", t.lifecycle.observe(now, delay)));
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
