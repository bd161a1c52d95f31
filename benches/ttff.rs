//! Time to first frame per peer pair, and each browser's floor: `cargo bench --bench ttff`.
//! Each iteration is one run of the embedded bench scenario (`src/bench/ttff.yaml`); criterion is
//! given the measured TTFF (`iter_custom`), so browser start-up, page loads and teardown are not
//! counted. Browser sessions are reused across iterations. Pairs whose browser is missing are
//! skipped with the reason.

use criterion::{criterion_group, criterion_main, Criterion};
use rtc_harness::bench::{default_pairs, measure};
use rtc_harness::runner::{Env, RunError};
use rtc_harness::scenario::PeerKind;
use std::time::Duration;

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v / 1e3)
}

fn ttff(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let env: Env = rt.block_on(async { rtc_harness::runner::default_env() });
    let mut group = c.benchmark_group("ttff");
    group.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    for pair in default_pairs() {
        let name = format!("{}-{}", pair.0, pair.1);
        if let Err(RunError::Unavailable(why)) = rt.block_on(measure(pair, &env)) {
            println!("ttff/{name}: skipped: {why}");
            continue;
        }
        group.bench_function(&name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let env = env.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += ms(measure(pair, &env).await.expect("bench case runs").first_frame);
                    }
                    total
                }
            })
        });
    }
    for kind in [PeerKind::Chrome, PeerKind::Firefox] {
        let name = format!("floor-{kind}");
        if let Err(why) = rt.block_on(rtc_harness::bench::floor::measure(kind, 1, &env)) {
            println!("ttff/{name}: skipped: {why}");
            continue;
        }
        group.bench_function(&name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let env = env.clone();
                async move {
                    let samples = rtc_harness::bench::floor::measure(kind, iters as usize, &env).await.expect("floor runs");
                    samples.into_iter().map(ms).sum()
                }
            })
        });
    }
    group.finish();
    rt.block_on(rtc_harness::runner::shutdown_env(&env));
}

criterion_group!(benches, ttff);
criterion_main!(benches);
