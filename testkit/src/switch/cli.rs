//! The Junos CLI subset a switch speaks, sans-IO: a [`SwitchCli`] session takes a command line
//! and returns its output; the SSH server (and any in-process adapter) only moves the text.
//!
//! Operational mode: `show configuration interfaces P [| display set]`, `set cli ...`,
//! `configure [private|exclusive]` / `edit`, `show version`, `exit`/`quit`.
//! Configuration mode (a private candidate per session, over the committed ports):
//! `set|delete interfaces P unit 0 family ethernet-switching vlan members vlanN|N|[ ... ]`,
//! `... interface-mode access|trunk`, `set|delete interfaces P apply-groups QinQ_vlN`,
//! `set|delete interfaces P native-vlan-id N`, `delete interfaces P`, QUADS's
//! `set|delete vlans vlanN interface P`, `show interfaces P`, `show | compare`, `commit`,
//! `rollback [0]`, `run <operational command>`, `exit`/`quit`.
//!
//! Where this differs from a real Junos: `exit` with uncommitted changes discards them without
//! asking "Exit with uncommitted changes? [yes,no]"; an explicit `interface-mode access` is not
//! shown back (access is the default and is not stored apart); commit failures are injected
//! faults, not constraint checks; only the ports of the switch (48) exist; the terminal does
//! not echo what it is sent. Lines sent together (a paste, or a client that does not wait for
//! each prompt) are run one by one in order, each answered with its output and the prompt, as
//! a real CLI reads typed-ahead lines (which a real terminal echoes after each prompt); an
//! error in one does not stop the next. [`super::SwitchLab::hang_up`] ends every open session
//! at once, as an `idle-timeout` or a dropped connection does.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, PortMode, PortState, SwitchLab};

/// The CLI mode of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `user@sw01> `.
    Operational,
    /// `user@sw01# ` under `[edit]`.
    Configuration,
}

/// What a command line did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Output to send (then the prompt).
    Output(String),
    /// A commit was started: wait this many lab seconds, then call
    /// [`SwitchCli::finish_commit`] for its output.
    Commit {
        /// Lab seconds the commit takes.
        lab_secs: f64,
    },
    /// The session ends after this output.
    Close(String),
}

/// One CLI session on one switch.
#[derive(Debug)]
pub struct SwitchCli {
    switch: usize,
    name: String,
    user: String,
    mode: Mode,
    /// Ports this session has edited, as they would be after a commit.
    candidate: BTreeMap<String, PortState>,
    pending_failure: Option<bool>,
}

const SYNTAX_ERROR: &str = "syntax error.\n";

impl SwitchCli {
    /// A session of `user` on switch `switch` (after its login was accepted).
    #[must_use]
    pub fn new(lab: &SwitchLab, switch: usize, user: &str) -> Self {
        Self {
            switch,
            name: lab
                .switches
                .get(switch)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            user: user.to_owned(),
            mode: Mode::Operational,
            candidate: BTreeMap::new(),
            pending_failure: None,
        }
    }

    /// The session's mode.
    #[cfg(test)]
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether the candidate differs from what the session started editing.
    #[cfg(test)]
    #[must_use]
    pub fn has_uncommitted_changes(&self, lab: &SwitchLab) -> bool {
        self.candidate
            .iter()
            .any(|(port, config)| lab.port(self.switch, port).as_ref() != Some(config))
    }

    /// The prompt after an answer: `user@sw01> `, or `[edit]` and `user@sw01# `.
    #[must_use]
    pub fn prompt(&self) -> String {
        match self.mode {
            Mode::Operational => format!("{}@{}> ", self.user, self.name),
            Mode::Configuration => format!("\n[edit]\n{}@{}# ", self.user, self.name),
        }
    }

    /// Runs one command line.
    pub fn execute(&mut self, lab: &SwitchLab, ctx: &Context<'_>, line: &str) -> Reply {
        let line = line.trim();
        let (command, pipe) = match line.split_once('|') {
            Some((c, p)) => (c.trim(), Some(p.trim())),
            None => (line, None),
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        if words.is_empty() && pipe.is_none() {
            return Reply::Output(String::new());
        }
        match self.mode {
            Mode::Operational => self.operational(lab, &words, pipe),
            Mode::Configuration => self.configuration(lab, ctx, &words, pipe),
        }
    }

    fn operational(&mut self, lab: &SwitchLab, words: &[&str], pipe: Option<&str>) -> Reply {
        match words {
            // every interface at once (an unconfigured one prints nothing)
            ["show", "configuration", "interfaces"] => {
                let ports = lab.ports(self.switch);
                Reply::Output(match pipe {
                    Some("display set") => ports
                        .iter()
                        .map(|(port, config)| render_set(port, config))
                        .collect(),
                    None | Some("no-more") => ports
                        .iter()
                        .filter(|(_, config)| **config != PortState::default())
                        .map(|(port, config)| {
                            let body: String = render_curly(config)
                                .lines()
                                .map(|l| format!("    {l}\n"))
                                .collect();
                            format!("{port} {{\n{body}}}\n")
                        })
                        .collect(),
                    Some(_) => return Reply::Output(SYNTAX_ERROR.to_owned()),
                })
            }
            ["show", "configuration", "interfaces", port] => {
                let Some(config) = lab.port(self.switch, port) else {
                    // Junos prints nothing for an interface with no configuration.
                    return Reply::Output(String::new());
                };
                Reply::Output(match pipe {
                    Some("display set") => render_set(port, &config),
                    None | Some("no-more") => render_curly(&config),
                    Some(_) => return Reply::Output(SYNTAX_ERROR.to_owned()),
                })
            }
            ["set", "cli", "screen-length", n] => {
                Reply::Output(format!("Screen length set to {n}\n"))
            }
            ["set", "cli", "screen-width", n] => {
                Reply::Output(format!("Screen width set to {n}\n"))
            }
            ["configure" | "edit"] | ["configure", "private" | "exclusive"] => {
                self.mode = Mode::Configuration;
                self.candidate.clear();
                Reply::Output("Entering configuration mode\n".to_owned())
            }
            ["show", "version"] => Reply::Output(format!(
                "Hostname: {}\nModel: qfx5120-48y-8c\nJunos: 21.4R3-S5.4 (quads-rs lab)\n",
                self.name
            )),
            ["exit" | "quit"] => Reply::Close(String::new()),
            _ => Reply::Output(format!("{}^\nunknown command.\n", " ".repeat(8))),
        }
    }

    fn configuration(
        &mut self,
        lab: &SwitchLab,
        ctx: &Context<'_>,
        words: &[&str],
        pipe: Option<&str>,
    ) -> Reply {
        match (words, pipe) {
            (["show"], Some("compare")) => Reply::Output(self.compare(lab)),
            (["show", "interfaces", port], None) => Reply::Output(
                self.candidate_port(lab, port)
                    .map_or_else(String::new, |c| render_curly(&c)),
            ),
            (["commit"], None) => {
                let (lab_secs, fails) = lab.draw_commit(ctx, self.switch, &self.candidate);
                self.pending_failure = Some(fails);
                Reply::Commit { lab_secs }
            }
            (["rollback"] | ["rollback", "0"], None) => {
                self.candidate.clear();
                Reply::Output("load complete\n".to_owned())
            }
            (["exit" | "quit"] | ["exit", "configuration-mode"], None) => {
                self.candidate.clear();
                self.mode = Mode::Operational;
                Reply::Output("Exiting configuration mode\n".to_owned())
            }
            (["run", rest @ ..], _) => {
                let before = self.mode;
                self.mode = Mode::Operational;
                let reply = self.operational(lab, rest, pipe);
                self.mode = before;
                match reply {
                    Reply::Close(_) => Reply::Output(SYNTAX_ERROR.to_owned()),
                    other => other,
                }
            }
            ([verb @ ("set" | "delete"), rest @ ..], None) => {
                Reply::Output(self.edit(lab, *verb == "set", rest))
            }
            _ => Reply::Output(SYNTAX_ERROR.to_owned()),
        }
    }

    /// The output of the commit started by the last `commit`: applies the candidate atomically.
    pub fn finish_commit(&mut self, lab: &SwitchLab, ctx: &Context<'_>) -> String {
        let fails = self.pending_failure.take().unwrap_or(false);
        match lab.commit(ctx, self.switch, &self.candidate, fails) {
            Ok(()) => {
                self.candidate.clear();
                "configuration check succeeds\ncommit complete\n".to_owned()
            }
            Err(port) if port.is_empty() => "error: configuration check-out failed\n\
                 error: commit failed: (statements constraint check failed)\n"
                .to_owned(),
            Err(port) => format!("error: interface {port} not found\nerror: commit failed\n"),
        }
    }

    fn candidate_port(&self, lab: &SwitchLab, port: &str) -> Option<PortState> {
        self.candidate
            .get(port)
            .cloned()
            .or_else(|| lab.port(self.switch, port))
    }

    fn edit(&mut self, lab: &SwitchLab, set: bool, words: &[&str]) -> String {
        let (port, statement): (&str, Vec<&str>) = match words {
            ["interfaces", port, rest @ ..] => (port, rest.to_vec()),
            // QUADS's `set vlans vlan<N> interface P[.0]`
            ["vlans", vlan, "interface", port] => (
                port.strip_suffix(".0").unwrap_or(port),
                vec![
                    "unit",
                    "0",
                    "family",
                    "ethernet-switching",
                    "vlan",
                    "members",
                    vlan,
                ],
            ),
            _ => return SYNTAX_ERROR.to_owned(),
        };
        let Some(mut config) = self.candidate_port(lab, port) else {
            return format!("error: interface {port} not found on {}\n", self.name);
        };
        let before = config.clone();
        let outcome = apply(&mut config, set, &statement);
        match outcome {
            Err(message) => message,
            Ok(()) => {
                if !set && config == before {
                    return "warning: statement not found\n".to_owned();
                }
                self.candidate.insert(port.to_owned(), config);
                String::new()
            }
        }
    }

    fn compare(&self, lab: &SwitchLab) -> String {
        let mut out = String::new();
        for (port, candidate) in &self.candidate {
            let committed = lab.port(self.switch, port).unwrap_or_default();
            if &committed == candidate {
                continue;
            }
            let old: Vec<String> = render_curly(&committed)
                .lines()
                .map(str::to_owned)
                .collect();
            let new: Vec<String> = render_curly(candidate).lines().map(str::to_owned).collect();
            out.push_str(&format!("[edit interfaces {port}]\n"));
            for line in old.iter().filter(|l| !new.contains(l)) {
                out.push_str(&format!("-   {line}\n"));
            }
            for line in new.iter().filter(|l| !old.contains(l)) {
                out.push_str(&format!("+   {line}\n"));
            }
        }
        out
    }
}

fn apply(config: &mut PortState, set: bool, statement: &[&str]) -> Result<(), String> {
    match statement {
        [] if !set => *config = PortState::default(),
        ["apply-groups", group] => {
            let n = group
                .strip_prefix("QinQ_vl")
                .and_then(|n| n.parse::<u16>().ok())
                .ok_or_else(|| format!("error: group {group} not defined\n"))?;
            if set {
                config.qinq_group = Some(n);
            } else if config.qinq_group == Some(n) {
                config.qinq_group = None;
            }
        }
        ["apply-groups"] if !set => config.qinq_group = None,
        ["native-vlan-id", n] => {
            let n: u16 = n.parse().map_err(|_| SYNTAX_ERROR.to_owned())?;
            if set {
                config.native_vlan = Some(n);
            } else if config.native_vlan == Some(n) {
                config.native_vlan = None;
            }
        }
        ["native-vlan-id"] if !set => config.native_vlan = None,
        ["unit", "0", "family", "ethernet-switching", rest @ ..] => match rest {
            [] if !set => {
                config.mode = PortMode::Access;
                config.vlans.clear();
            }
            ["interface-mode" | "port-mode", mode] => {
                let mode = match *mode {
                    "access" => PortMode::Access,
                    "trunk" => PortMode::Trunk,
                    _ => return Err(SYNTAX_ERROR.to_owned()),
                };
                if set || config.mode == mode {
                    config.mode = if set { mode } else { PortMode::Access };
                }
            }
            ["interface-mode" | "port-mode"] if !set => config.mode = PortMode::Access,
            ["vlan"] if !set => config.vlans.clear(),
            ["vlan", "members", members @ ..] if !members.is_empty() => {
                let ids = members_of(members)?;
                if set {
                    config.vlans.extend(ids);
                } else {
                    config.vlans.retain(|v| !ids.contains(v));
                }
            }
            _ => return Err(SYNTAX_ERROR.to_owned()),
        },
        _ => return Err(SYNTAX_ERROR.to_owned()),
    }
    Ok(())
}

fn members_of(words: &[&str]) -> Result<BTreeSet<u16>, String> {
    let mut ids = BTreeSet::new();
    for word in words.iter().filter(|w| !matches!(**w, "[" | "]")) {
        let bare = word.strip_prefix("vlan").unwrap_or(word);
        let id: u16 = bare
            .parse()
            .map_err(|_| format!("error: vlan {word} is not defined\n"))?;
        if id == 0 || id > 4094 {
            return Err(format!("error: vlan-id {id} out of range 1..4094\n"));
        }
        ids.insert(id);
    }
    Ok(ids)
}

/// A port's configuration as `show configuration interfaces P` prints it (4-space indents).
#[must_use]
pub fn render_curly(config: &PortState) -> String {
    let mut out = String::new();
    if let Some(group) = config.qinq_group {
        out.push_str(&format!("apply-groups QinQ_vl{group};\n"));
    }
    if let Some(native) = config.native_vlan {
        out.push_str(&format!("native-vlan-id {native};\n"));
    }
    if config.mode == PortMode::Trunk || !config.vlans.is_empty() {
        out.push_str("unit 0 {\n    family ethernet-switching {\n");
        if config.mode == PortMode::Trunk {
            out.push_str("        interface-mode trunk;\n");
        }
        if !config.vlans.is_empty() {
            let names: Vec<String> = config.vlans.iter().map(|v| format!("vlan{v}")).collect();
            let members = if names.len() == 1 {
                names[0].clone()
            } else {
                format!("[ {} ]", names.join(" "))
            };
            out.push_str(&format!(
                "        vlan {{\n            members {members};\n        }}\n"
            ));
        }
        out.push_str("    }\n}\n");
    }
    out
}

/// The same in `| display set` form.
#[must_use]
pub fn render_set(port: &str, config: &PortState) -> String {
    let mut out = String::new();
    if let Some(group) = config.qinq_group {
        out.push_str(&format!(
            "set interfaces {port} apply-groups QinQ_vl{group}\n"
        ));
    }
    if let Some(native) = config.native_vlan {
        out.push_str(&format!("set interfaces {port} native-vlan-id {native}\n"));
    }
    let switching = format!("set interfaces {port} unit 0 family ethernet-switching");
    if config.mode == PortMode::Trunk {
        out.push_str(&format!("{switching} interface-mode trunk\n"));
    }
    for vlan in &config.vlans {
        out.push_str(&format!("{switching} vlan members vlan{vlan}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::faults::FaultProfile;
    use crate::lab::{LabConfig, LabShared};

    fn lab(faults: &str) -> Arc<LabShared> {
        LabShared::build(LabConfig {
            hosts: 2,
            faults: FaultProfile::parse(faults).expect("profile"),
            ..LabConfig::default()
        })
        .expect("lab")
    }

    fn run(cli: &mut SwitchCli, lab: &LabShared, line: &str) -> String {
        let ctx = lab.switch_context();
        match cli.execute(&lab.switches, &ctx, line) {
            Reply::Output(out) | Reply::Close(out) => out,
            Reply::Commit { lab_secs } => {
                assert!(lab_secs > 0.0);
                cli.finish_commit(&lab.switches, &ctx)
            }
        }
    }

    const SET_A: &str = "set interfaces xe-0/0/0 apply-groups QinQ_vl1110";
    const SET_B: &str =
        "set interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members [ vlan1111 1112 ]";

    #[test]
    fn shows_a_port_as_junos_prints_it() {
        let lab = lab("none");
        let mut cli = SwitchCli::new(&lab.switches, 0, "quads");
        assert_eq!(cli.prompt(), "quads@sw01> ");
        let out = run(&mut cli, &lab, "show configuration interfaces xe-0/0/0");
        assert_eq!(
            out,
            "apply-groups QinQ_vl1100;\nunit 0 {\n    family ethernet-switching {\n        vlan {\n            members vlan1100;\n        }\n    }\n}\n"
        );
        let set = run(
            &mut cli,
            &lab,
            "show configuration interfaces xe-0/0/0 | display set",
        );
        assert!(
            set.contains("set interfaces xe-0/0/0 apply-groups QinQ_vl1100\n"),
            "{set}"
        );
        // every interface in one answer, each as alone
        let all = run(
            &mut cli,
            &lab,
            "show configuration interfaces | display set",
        );
        assert!(all.starts_with(&set), "{all}");
        assert!(
            all.contains("set interfaces xe-0/0/1 apply-groups QinQ_vl1101\n"),
            "{all}"
        );
        let curly = run(&mut cli, &lab, "show configuration interfaces");
        assert!(
            curly.starts_with("xe-0/0/0 {\n    apply-groups QinQ_vl1100;\n"),
            "{curly}"
        );
        assert!(run(&mut cli, &lab, "show bogus").contains("unknown command."));
        assert_eq!(
            run(&mut cli, &lab, "configure private"),
            "Entering configuration mode\n"
        );
        assert_eq!(cli.prompt(), "\n[edit]\nquads@sw01# ");
        assert_eq!(run(&mut cli, &lab, "frobnicate"), "syntax error.\n");
        assert!(
            run(
                &mut cli,
                &lab,
                "set interfaces xe-0/0/99 apply-groups QinQ_vl1"
            )
            .starts_with("error:")
        );
    }

    #[test]
    fn a_commit_applies_every_port_or_none() {
        let failing = lab("switch_commit_fail_rate=1");
        let mut cli = SwitchCli::new(&failing.switches, 0, "quads");
        run(&mut cli, &failing, "configure");
        assert_eq!(run(&mut cli, &failing, SET_A), "");
        assert_eq!(run(&mut cli, &failing, SET_B), "");
        let compare = run(&mut cli, &failing, "show | compare");
        assert!(
            compare.contains("+   apply-groups QinQ_vl1110;"),
            "{compare}"
        );
        let before = failing.switches.ports(0);
        assert!(run(&mut cli, &failing, "commit").contains("commit failed"));
        assert_eq!(
            failing
                .switches
                .port(0, "xe-0/0/0")
                .and_then(|p| p.qinq_group),
            Some(1100)
        );
        assert_eq!(
            failing.metrics.snapshot().switches["sw01"].failed_commits,
            1
        );
        assert_eq!(failing.switches.ports(0), before);

        let ok = lab("none");
        let mut cli = SwitchCli::new(&ok.switches, 0, "quads");
        run(&mut cli, &ok, "configure");
        run(&mut cli, &ok, SET_A);
        run(&mut cli, &ok, SET_B);
        // Nothing is visible before the commit.
        assert_eq!(
            ok.switches.port(0, "xe-0/0/0").and_then(|p| p.qinq_group),
            Some(1100)
        );
        assert!(run(&mut cli, &ok, "commit").contains("commit complete"));
        assert_eq!(
            ok.switches.port(0, "xe-0/0/0").and_then(|p| p.qinq_group),
            Some(1110)
        );
        let b = ok.switches.port(0, "xe-0/0/1").expect("port");
        assert_eq!(
            b.vlans.into_iter().collect::<Vec<_>>(),
            vec![1101, 1111, 1112]
        );
        assert_eq!(ok.metrics.snapshot().switches["sw01"].commits, 1);
    }

    #[test]
    fn which_commit_fails_does_not_depend_on_the_order_of_sessions() {
        let outcomes = |order: &[usize]| {
            let lab = lab("switch_commit_fail_rate=0.5");
            let mut failed = BTreeMap::new();
            for &port in order {
                let mut cli = SwitchCli::new(&lab.switches, 0, "quads");
                run(&mut cli, &lab, "configure private");
                run(
                    &mut cli,
                    &lab,
                    &format!("set interfaces xe-0/0/{port} apply-groups QinQ_vl1130"),
                );
                let answer = run(&mut cli, &lab, "commit");
                failed.insert(port, answer.contains("commit failed"));
            }
            failed
        };
        let forward = outcomes(&[0, 1, 2, 3, 4, 5]);
        assert_eq!(forward, outcomes(&[5, 4, 3, 2, 1, 0]));
        // The seed makes some fail and some not, so the orders were put to the test.
        assert!(forward.values().any(|f| *f) && forward.values().any(|f| !*f));
    }

    #[test]
    fn leaving_configuration_mode_discards_the_candidate() {
        let lab = lab("none");
        let mut cli = SwitchCli::new(&lab.switches, 0, "quads");
        let before = lab.switches.ports(0);
        run(&mut cli, &lab, "edit");
        run(&mut cli, &lab, SET_A);
        run(&mut cli, &lab, "delete interfaces xe-0/0/1");
        assert!(cli.has_uncommitted_changes(&lab.switches));
        assert_eq!(run(&mut cli, &lab, "exit"), "Exiting configuration mode\n");
        assert_eq!(cli.mode(), Mode::Operational);
        run(&mut cli, &lab, "configure");
        assert_eq!(run(&mut cli, &lab, "show | compare"), "");
        assert!(run(&mut cli, &lab, "commit").contains("commit complete"));
        assert_eq!(lab.switches.ports(0), before);
        // `rollback` throws the candidate away too.
        run(&mut cli, &lab, SET_A);
        assert_eq!(run(&mut cli, &lab, "rollback"), "load complete\n");
        assert!(!cli.has_uncommitted_changes(&lab.switches));
        assert_eq!(
            run(&mut cli, &lab, "delete interfaces xe-0/0/0 native-vlan-id"),
            "warning: statement not found\n"
        );
    }

    #[test]
    fn quads_vlans_stanza_sets_membership() {
        let lab = lab("none");
        let mut cli = SwitchCli::new(&lab.switches, 0, "quads");
        run(&mut cli, &lab, "configure");
        run(&mut cli, &lab, "delete vlans vlan1100 interface xe-0/0/0.0");
        run(&mut cli, &lab, "set vlans vlan1120 interface xe-0/0/0.0");
        run(&mut cli, &lab, "commit");
        let port = lab.switches.port(0, "xe-0/0/0").expect("port");
        assert_eq!(port.vlans.into_iter().collect::<Vec<_>>(), vec![1120]);
    }

    #[test]
    fn hosts_are_wired_in_cloud01() {
        let lab = lab("none");
        let ports = lab.switches.host_ports(1);
        assert!(ports.len() >= 2);
        assert_eq!(ports[0].interface, "em1");
        for (i, port) in ports.iter().enumerate() {
            let vlan = super::super::quads_vlan(1100, 1, i);
            assert_eq!(port.vlans, vec![vlan]);
            assert_eq!(port.qinq_group, Some(vlan));
        }
        let nic = &lab.switches.interfaces[1][0];
        assert!(nic.pxe_boot);
        let machine_mac = {
            let state = lab.state();
            let machine = &state.machines[1];
            machine
                .devices
                .iter()
                .find(|d| d.id == machine.provisioning_nic)
                .and_then(|d| d.mac.clone())
        };
        assert_eq!(machine_mac.as_deref(), Some(nic.mac_address.as_str()));
    }
}
