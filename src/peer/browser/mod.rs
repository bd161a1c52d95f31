//! Browser peers (Chrome, Firefox) driven over WebDriver, and the agent page they load.

/// The agent page the relay serves at `/agent`.
pub const AGENT_PAGE: &str = include_str!("agent.html");
