//! The normalized transcript (placeholder until written).
