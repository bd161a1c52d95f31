//! The impairment engine: what a network does to one direction of one peer's traffic, as a pure
//! function of packet arrivals on a clock (sans-I/O, like the relay's `classify`; the UDP proxy in
//! [`super::path`] is its I/O shell, and the tests below run it on a virtual clock).
//!
//! A packet that arrives at `now` meets, in this order: a blackout (dropped), loss (a Gilbert
//! model: random loss when the mean burst is 1 packet, bursts otherwise), the bandwidth limit (it
//! waits behind the packets queued before it; a packet that would wait longer than the queue
//! allows is dropped at the tail, as `tbf` does), then latency plus jitter. Deliveries keep the
//! order of arrival: one path does not reorder (netem only reorders with jitter and no rate; RTP
//! stacks treat reordering as loss, which would make jitter count twice).

use std::time::Duration;

pub use crate::scenario::network::Conditions;

/// What happens to one packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fate {
    /// Delivered at this time (same clock as `now`).
    Deliver(Duration),
    Lost,
    QueueFull,
    Blackout,
}

/// Counts of what one direction did, for the case's network record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    pub delivered: u64,
    pub lost: u64,
    pub queue_full: u64,
    pub blackout: u64,
}

/// One direction of one peer's path.
#[derive(Clone, Debug)]
pub struct Link {
    conditions: Conditions,
    rng: SplitMix64,
    /// Gilbert model state: in a loss burst.
    bad: bool,
    /// When the bandwidth limiter finishes sending what is queued.
    busy_until: Duration,
    last_delivery: Duration,
    blackouts: Vec<(Duration, Duration)>,
    pub counters: Counters,
}

impl Link {
    /// A link with `conditions`; `seed` makes its random choices repeatable.
    pub fn new(conditions: Conditions, seed: u64) -> Link {
        Link { conditions, rng: SplitMix64(seed), bad: false, busy_until: Duration::ZERO, last_delivery: Duration::ZERO, blackouts: Vec::new(), counters: Counters::default() }
    }

    pub fn conditions(&self) -> &Conditions {
        &self.conditions
    }

    /// New conditions from now on (packets already scheduled keep their times).
    pub fn set(&mut self, conditions: Conditions) {
        self.conditions = conditions;
        self.bad = false;
    }

    /// Drops every packet that arrives in `[from, until)`.
    pub fn blackout(&mut self, from: Duration, until: Duration) {
        self.blackouts.push((from, until));
    }

    /// Ends every blackout at `now` (new conditions restore the path); true if one was active.
    pub fn end_blackouts(&mut self, now: Duration) -> bool {
        let active = self.in_blackout(now);
        for b in &mut self.blackouts {
            b.1 = b.1.min(now);
        }
        active
    }

    pub fn in_blackout(&self, now: Duration) -> bool {
        self.blackouts.iter().any(|(from, until)| (*from..*until).contains(&now))
    }

    /// The fate of a packet of `len` bytes arriving at `now` (`now` never goes back).
    pub fn send(&mut self, now: Duration, len: usize) -> Fate {
        self.counters.packets += 1;
        self.counters.bytes += len as u64;
        if self.in_blackout(now) {
            self.counters.blackout += 1;
            return Fate::Blackout;
        }
        if self.lose() {
            self.counters.lost += 1;
            return Fate::Lost;
        }
        let mut ready = now;
        if let Some(bps) = self.conditions.bandwidth.filter(|b| *b > 0) {
            let start = self.busy_until.max(now);
            if start - now > self.conditions.queue {
                self.counters.queue_full += 1;
                return Fate::QueueFull;
            }
            self.busy_until = start + Duration::from_secs_f64(len as f64 * 8.0 / bps as f64);
            ready = self.busy_until;
        }
        let at = (ready + self.delay()).max(self.last_delivery);
        self.last_delivery = at;
        self.counters.delivered += 1;
        Fate::Deliver(at)
    }

    /// The Gilbert model: from "good" a packet starts a burst with probability `p`; within a
    /// burst every packet is lost and the burst ends with probability `r = 1 / burst`. The
    /// long-run loss is `p / (p + r)`, so `p = loss * r / (1 - loss)`.
    fn lose(&mut self) -> bool {
        let loss = self.conditions.loss;
        if loss <= 0.0 {
            return false;
        }
        if loss >= 1.0 {
            return true;
        }
        let r = 1.0 / self.conditions.burst.max(1.0);
        if self.bad {
            if self.rng.unit() < r {
                self.bad = false;
            }
        } else {
            let p = (loss * r / (1.0 - loss)).min(1.0);
            if self.rng.unit() < p {
                self.bad = true;
            }
        }
        self.bad
    }

    fn delay(&mut self) -> Duration {
        let base = self.conditions.latency.as_secs_f64();
        let j = self.conditions.jitter.as_secs_f64();
        let d = if j > 0.0 { base + (self.rng.unit() * 2.0 - 1.0) * j } else { base };
        Duration::from_secs_f64(d.max(0.0))
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit generator whose output is fixed by its
/// definition, so a seed gives the same losses on every machine and every version. (`rand`'s
/// `StdRng` documents that its algorithm may change between releases, which would silently
/// change a pinned scenario's losses.)
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// `n` packets of `len` bytes, one every `gap`, through `link`; the fates in order.
    fn run(link: &mut Link, n: usize, gap: Duration, len: usize) -> Vec<Fate> {
        (0..n).map(|i| link.send(gap * i as u32, len)).collect()
    }

    #[test]
    fn a_perfect_link_delivers_at_once() {
        let mut link = Link::new(Conditions::default(), 1);
        assert_eq!(link.send(ms(5), 1200), Fate::Deliver(ms(5)));
    }

    #[test]
    fn latency_delays_every_packet_and_jitter_stays_within_bounds_in_order() {
        let c = Conditions { latency: ms(200), jitter: ms(50), ..Default::default() };
        let mut link = Link::new(c, 7);
        let mut last = Duration::ZERO;
        for (i, fate) in run(&mut link, 1000, ms(20), 100).into_iter().enumerate() {
            let Fate::Deliver(at) = fate else { panic!("lost on a lossless link") };
            let sent = ms(20) * i as u32;
            assert!(at >= sent + ms(150), "packet {i} early: {at:?}");
            assert!(at <= sent.max(last) + ms(250), "packet {i} late: {at:?}");
            assert!(at >= last, "reordered");
            last = at;
        }
    }

    #[test]
    fn random_loss_is_near_the_configured_rate_and_repeatable_per_seed() {
        let c = Conditions { loss: 0.05, burst: 1.0, ..Default::default() };
        let lost = |seed| run(&mut Link::new(c.clone(), seed), 20_000, ms(1), 100).iter().filter(|f| **f == Fate::Lost).count();
        let a = lost(42);
        assert!((900..1100).contains(&a), "5% of 20000 is 1000, got {a}");
        assert_eq!(a, lost(42), "same seed, same losses");
        assert_ne!(a, lost(43), "another seed, other losses");
    }

    #[test]
    fn burst_loss_keeps_the_rate_and_makes_runs() {
        let c = Conditions { loss: 0.1, burst: 5.0, ..Default::default() };
        let fates = run(&mut Link::new(c, 3), 50_000, ms(1), 100);
        let lost = fates.iter().filter(|f| **f == Fate::Lost).count();
        assert!((4300..5700).contains(&lost), "10% of 50000, got {lost}");
        let runs = fates.windows(2).filter(|w| w[0] != Fate::Lost && w[1] == Fate::Lost).count();
        let mean = lost as f64 / runs as f64;
        assert!((4.0..6.0).contains(&mean), "mean burst {mean}");
    }

    #[test]
    fn bandwidth_spaces_packets_and_a_full_queue_drops_at_the_tail() {
        // 1000-byte packets at 80 kbps take 100 ms each; 20 arrive at once with a 500 ms queue:
        // packets 0-5 wait at most 500 ms, the rest are dropped.
        let c = Conditions { bandwidth: Some(80_000), queue: ms(500), ..Default::default() };
        let mut link = Link::new(c, 1);
        let fates: Vec<Fate> = (0..20).map(|_| link.send(Duration::ZERO, 1000)).collect();
        let delivered: Vec<Duration> = fates.iter().filter_map(|f| if let Fate::Deliver(at) = f { Some(*at) } else { None }).collect();
        assert_eq!(delivered, (1..=6).map(|i| ms(100 * i)).collect::<Vec<_>>());
        assert_eq!(link.counters.queue_full, 14);
        // Once drained, the link takes packets again.
        assert_eq!(link.send(ms(2000), 1000), Fate::Deliver(ms(2100)));
    }

    #[test]
    fn throughput_never_exceeds_the_limit() {
        let c = Conditions { bandwidth: Some(1_000_000), queue: ms(200), ..Default::default() };
        let mut link = Link::new(c, 1);
        // Offered: 1200 bytes every 5 ms = 1.92 Mbps for 10 s.
        let fates = run(&mut link, 2000, ms(5), 1200);
        let bits = fates.iter().filter(|f| matches!(f, Fate::Deliver(at) if *at <= ms(10_000))).count() as f64 * 1200.0 * 8.0;
        assert!(bits / 10.0 <= 1_000_000.0 * 1.001, "{} bps", bits / 10.0);
        assert!(bits / 10.0 >= 950_000.0, "the link is used: {} bps", bits / 10.0);
    }

    #[test]
    fn a_blackout_drops_everything_inside_it_and_nothing_after() {
        let mut link = Link::new(Conditions::default(), 1);
        link.blackout(ms(1000), ms(9000));
        assert_eq!(link.send(ms(999), 10), Fate::Deliver(ms(999)));
        assert_eq!(link.send(ms(1000), 10), Fate::Blackout);
        assert_eq!(link.send(ms(8999), 10), Fate::Blackout);
        assert_eq!(link.send(ms(9000), 10), Fate::Deliver(ms(9000)));
        assert_eq!(link.counters.blackout, 2);
        link.blackout(ms(10_000), ms(40_000));
        assert!(link.end_blackouts(ms(12_000)));
        assert_eq!(link.send(ms(12_000), 10), Fate::Deliver(ms(12_000)));
    }

    #[test]
    fn conditions_change_mid_call() {
        let mut link = Link::new(Conditions::default(), 1);
        assert_eq!(link.send(ms(0), 10), Fate::Deliver(ms(0)));
        link.set(Conditions { latency: ms(100), ..Default::default() });
        assert_eq!(link.send(ms(10), 10), Fate::Deliver(ms(110)));
        assert_eq!(
            Conditions { latency: ms(250), jitter: ms(50), loss: 0.005, burst: 1.0, bandwidth: Some(1_200_000), queue: ms(400) }.describe(),
            "latency 250ms ± 50ms, loss 0.5%, 1200 kbps (queue 400ms)"
        );
    }
}
