//! The one error of switch-client: which switch, which ports, what went wrong; never a password.

/// Why a switch operation failed. Every variant names the switch (`name` or `ip:port`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection or the SSH handshake could not be made.
    #[error("switch {switch}: cannot connect: {reason}")]
    Connect {
        /// The switch.
        switch: String,
        /// What failed.
        reason: String,
    },
    /// No answer within the configured time.
    #[error("switch {switch}: timed out {during}")]
    Timeout {
        /// The switch.
        switch: String,
        /// What was being waited for.
        during: String,
    },
    /// The server's host key is not the one configured.
    #[error("switch {switch}: host key {presented} is not the expected {expected}")]
    HostKey {
        /// The switch.
        switch: String,
        /// The fingerprint configured.
        expected: String,
        /// The fingerprint the server presented.
        presented: String,
    },
    /// The switch refused the login.
    #[error("switch {switch}: login refused for user {username:?}")]
    AuthRefused {
        /// The switch.
        switch: String,
        /// The login.
        username: String,
    },
    /// The SSH session broke after it was made.
    #[error("switch {switch}: ssh session lost: {reason}")]
    Session {
        /// The switch.
        switch: String,
        /// What happened.
        reason: String,
    },
    /// A session kept from an earlier batch was found closed, or silent, at the batch's first
    /// read, before anything was sent to change the switch: the batch may go again in a new
    /// session at once.
    #[error("switch {switch}: the kept session was gone before anything was sent: {reason}")]
    Stale {
        /// The switch.
        switch: String,
        /// How it was found gone.
        reason: String,
    },
    /// A command was refused (`syntax error.`, `error: ...`).
    #[error("switch {switch}: `{command}` refused: {message}")]
    Command {
        /// The switch.
        switch: String,
        /// The command line.
        command: String,
        /// The switch's words.
        message: String,
    },
    /// The commit failed; the candidate was rolled back and nothing was applied.
    #[error("switch {switch}: commit of ports {} failed, nothing applied: {message}", ports.join(", "))]
    CommitFailed {
        /// The switch.
        switch: String,
        /// The ports of the batch.
        ports: Vec<String>,
        /// The switch's words.
        message: String,
        /// The configuration database was locked by someone else.
        locked: bool,
    },
    /// A port's configuration could not be read.
    #[error("switch {switch}: port {port}: {reason}")]
    Parse {
        /// The switch.
        switch: String,
        /// The port.
        port: String,
        /// What was wrong.
        reason: String,
    },
    /// A port name that is not an interface name.
    #[error("switch {switch}: {port:?} is not an interface name")]
    InvalidPort {
        /// The switch.
        switch: String,
        /// The name given.
        port: String,
    },
    /// The same port twice in one batch.
    #[error("switch {switch}: port {port} appears twice in one batch")]
    DuplicatePort {
        /// The switch.
        switch: String,
        /// The port.
        port: String,
    },
}

impl Error {
    /// Whether trying again later may succeed: connection trouble and timeouts yes, a refused
    /// login, a wrong host key or a refused command no, a failed commit only when the switch
    /// said its configuration database was locked.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Session { .. }
            | Self::Stale { .. } => true,
            Self::CommitFailed { locked, .. } => *locked,
            Self::HostKey { .. }
            | Self::AuthRefused { .. }
            | Self::Command { .. }
            | Self::Parse { .. }
            | Self::InvalidPort { .. }
            | Self::DuplicatePort { .. } => false,
        }
    }

    /// The switch concerned.
    #[must_use]
    pub fn switch(&self) -> &str {
        match self {
            Self::Connect { switch, .. }
            | Self::Timeout { switch, .. }
            | Self::HostKey { switch, .. }
            | Self::AuthRefused { switch, .. }
            | Self::Session { switch, .. }
            | Self::Stale { switch, .. }
            | Self::Command { switch, .. }
            | Self::CommitFailed { switch, .. }
            | Self::Parse { switch, .. }
            | Self::InvalidPort { switch, .. }
            | Self::DuplicatePort { switch, .. } => switch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_follows_the_cause() {
        let s = || "sw01".to_owned();
        assert!(
            Error::Timeout {
                switch: s(),
                during: "commit".into()
            }
            .is_retryable()
        );
        assert!(
            !Error::AuthRefused {
                switch: s(),
                username: "quads".into()
            }
            .is_retryable()
        );
        let commit = |locked| Error::CommitFailed {
            switch: s(),
            ports: vec!["xe-0/0/1".into(), "xe-0/0/2".into()],
            message: "error: commit failed".into(),
            locked,
        };
        assert!(!commit(false).is_retryable());
        assert!(commit(true).is_retryable());
        assert_eq!(
            commit(false).to_string(),
            "switch sw01: commit of ports xe-0/0/1, xe-0/0/2 failed, nothing applied: error: commit failed"
        );
    }
}
