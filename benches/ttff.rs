//! Time to first frame per peer pair, and each browser's floor: `cargo bench --bench ttff`.
//! Each iteration is one run of the embedded bench scenario (`src/bench/ttff.yaml`); criterion is
//! given the measured TTFF (`iter_custom`), so browser start-up, page loads and teardown are not
//! counted. Browser sessions are reused across iterations. Pairs whose browser is missing are
//! skipped with the reason. Each iteration's offer starts at its own phase of the fake camera's
//! tick (`bench::dither`), as in `rtc-harness bench`.

use criterion::{criterion_group, criterion_main, Criterion};
use rtc_harness::bench::floor::{self, Signaling};
use rtc_harness::bench::{default_pairs, dither, dither_delays, measure, BROWSER_POLL_MS, CAMERA_FPS, DITHER_PERIOD_MS};
use rtc_harness::report::Outcome;
use rtc_harness::runner::{Env, RunOptions};
use std::time::Duration;

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v / 1e3)
}

fn ttff(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    // Pages drained and Chrome's camera run as in `rtc-harness bench` (bench::BROWSER_POLL_MS,
    // bench::CAMERA_FPS).
    let mut options = RunOptions::from_env().unwrap_or_else(|e| panic!("{e}"));
    options.browsers.poll = Some(Duration::from_millis(BROWSER_POLL_MS));
    options.browsers.camera_fps = Some(CAMERA_FPS);
    let env: Env = rt.block_on(async { Env::new(options) }).expect("peer kinds");
    let mut group = c.benchmark_group("ttff");
    group.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    for pair in default_pairs(&env) {
        let name = format!("{}-{}", pair.0, pair.1);
        // The case's outcome decides, as everywhere: a pair left out is skipped with its reason.
        if let Err(e) = rt.block_on(measure(&pair, &env, None, 0.0, false)) {
            let outcome = Outcome::of(&Err(e));
            if let Some(why) = outcome.reason() {
                println!("ttff/{name}: {}: {why}", outcome.status());
                continue;
            }
        }
        group.bench_function(&name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let env = env.clone();
                let pair = pair.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for i in 0..iters as usize {
                        total += ms(measure(&pair, &env, None, dither(i, DITHER_PERIOD_MS), false).await.expect("bench case runs").first_frame);
                    }
                    total
                }
            })
        });
    }
    for kind in env.registry.kinds() {
        for signaling in [Signaling::Direct, Signaling::Relay] {
            let name = format!("floor-{}", signaling.key(&kind));
            match rt.block_on(floor::measure(&kind, &[0.0], signaling, &env)) {
                None => continue,
                Some(Err(why)) => {
                    println!("ttff/{name}: skipped: {why}");
                    continue;
                }
                Some(Ok(_)) => {}
            }
            group.bench_function(&name, |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let env = env.clone();
                    let kind = kind.clone();
                    async move {
                        let samples =
                            floor::measure(&kind, &dither_delays(iters as usize, DITHER_PERIOD_MS), signaling, &env).await.expect("kind has a floor").expect("floor runs");
                        samples.into_iter().map(|r| ms(r.first_frame)).sum()
                    }
                })
            });
        }
    }
    group.finish();
    rt.block_on(env.shutdown());
}

criterion_group!(benches, ttff);
criterion_main!(benches);
