//! Browser peers (Chrome, Firefox) driven over WebDriver, and the agent page they load.

/// The agent page the relay serves at `/agent`.
pub const AGENT_PAGE: &str = include_str!("agent.html");

/// The launcher for this process (browser support is wired in by the browser module).
pub fn launcher() -> Option<std::sync::Arc<dyn super::BrowserLauncher>> {
    None
}
