//! Relay forwarding latency (p50/p99) and throughput with 1, 100 and 1,000 rooms of two members.
//! `cargo bench --bench relay`. Latency is one message at a time, round-robin over the rooms;
//! throughput is every room sending a burst at once. p50/p99 are printed per room count.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtc_harness::bench::relay_load::RelayLoad;
use rtc_harness::stats::percentile;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

const ROOMS: [usize; 3] = [1, 100, 1_000];
/// Messages per room per throughput iteration.
const BURST: usize = 100;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn latency(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("relay_latency");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    for rooms in ROOMS {
        let mut load = rt.block_on(RelayLoad::start(rooms)).expect("relay load starts");
        // Percentiles from a plain sample first: criterion reports means and medians only.
        let samples: Vec<f64> = rt.block_on(async {
            let mut v = Vec::with_capacity(5_000);
            for _ in 0..5_000 {
                v.push(load.one_latency().await.expect("message forwarded").as_secs_f64() * 1e3);
            }
            v
        });
        println!(
            "relay_latency/{rooms} rooms: p50 {:.3} ms, p99 {:.3} ms over {} messages",
            percentile(&samples, 50.0).unwrap_or(f64::NAN),
            percentile(&samples, 99.0).unwrap_or(f64::NAN),
            samples.len()
        );
        let shared = Arc::new(Mutex::new(load));
        group.bench_function(format!("{rooms}_rooms"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let load = Arc::clone(&shared);
                async move {
                    let mut load = load.lock().await;
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += load.one_latency().await.expect("message forwarded");
                    }
                    total
                }
            })
        });
        let load = Arc::try_unwrap(shared).ok().expect("no iteration holds the load").into_inner();
        rt.block_on(load.stop());
    }
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("relay_throughput");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for rooms in ROOMS {
        let load = rt.block_on(RelayLoad::start(rooms)).expect("relay load starts");
        let per_room = (BURST * 100 / rooms).clamp(10, 1_000);
        group.throughput(Throughput::Elements((per_room * rooms) as u64));
        let shared = Arc::new(Mutex::new(load));
        group.bench_function(format!("{rooms}_rooms"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let load = Arc::clone(&shared);
                async move {
                    let mut load = load.lock().await;
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += load.burst(per_room).await.expect("burst forwarded").1;
                    }
                    total
                }
            })
        });
        let load = Arc::try_unwrap(shared).ok().expect("no iteration holds the load").into_inner();
        rt.block_on(load.stop());
    }
    group.finish();
}

criterion_group!(benches, latency, throughput);
criterion_main!(benches);
