//! The Junos CLI as pure functions: command lines, the parser of `show configuration interfaces`,
//! prompts, and how to read a command's or a commit's answer. No IO here.
//!
//! Grammar as QUADS uses it (`quads/tools/external/juniper.py`), with VLAN membership on the
//! interface (ELS style: `unit 0 family ethernet-switching vlan members vlan<N>`), where QUADS
//! also writes the `vlans vlan<N> interface P` stanza. Lines are computed as a difference, so a
//! port's other statements (description, mtu) survive, where QUADS deletes the whole interface.

use crate::model::{PortConfig, PortMode, PortTarget};

/// The CLI mode a prompt shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliMode {
    /// `user@switch> `.
    Operational,
    /// `user@switch# `.
    Configuration,
}

/// `show configuration interfaces <port>` (operational mode).
#[must_use]
pub fn show_interface(port: &str) -> String {
    format!("show configuration interfaces {port}")
}

/// `show configuration interfaces | display set`: every interface's statements in one answer
/// (read with [`parse_interfaces`]).
pub const SHOW_ALL_INTERFACES: &str = "show configuration interfaces | display set";

/// Whether `port` is a plain interface name (letters, digits, `-`, `/`, `:`, `.`), so no
/// command line built from it can carry another statement.
#[must_use]
pub fn is_valid_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 64
        && port.starts_with(|c: char| c.is_ascii_alphabetic())
        && port
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | ':' | '.'))
}

/// The `delete` then `set` lines that turn `current` into `target` (empty when it already is).
#[must_use]
pub fn change_lines(current: &PortConfig, target: &PortTarget) -> Vec<String> {
    let port = &current.port;
    let wanted = target.config(port);
    let switching = format!("interfaces {port} unit 0 family ethernet-switching");
    let mut deletes = Vec::new();
    let mut sets = Vec::new();
    if current.qinq_group != wanted.qinq_group {
        if let Some(group) = current.qinq_group {
            deletes.push(format!(
                "delete interfaces {port} apply-groups QinQ_vl{group}"
            ));
        }
        if let Some(group) = wanted.qinq_group {
            sets.push(format!("set interfaces {port} apply-groups QinQ_vl{group}"));
        }
    }
    if current.native_vlan != wanted.native_vlan {
        match wanted.native_vlan {
            Some(native) => sets.push(format!("set interfaces {port} native-vlan-id {native}")),
            None => deletes.push(format!("delete interfaces {port} native-vlan-id")),
        }
    }
    for vlan in current.vlans.iter().filter(|v| !wanted.vlans.contains(v)) {
        deletes.push(format!("delete {switching} vlan members vlan{vlan}"));
    }
    if current.mode != wanted.mode {
        sets.push(format!("set {switching} interface-mode {}", wanted.mode));
    }
    for vlan in wanted.vlans.iter().filter(|v| !current.vlans.contains(v)) {
        sets.push(format!("set {switching} vlan members vlan{vlan}"));
    }
    deletes.extend(sets);
    deletes
}

/// Why an interface's configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

/// Reads `show configuration interfaces <port>` in Junos's curly-brace form, e.g.
///
/// ```text
/// apply-groups QinQ_vl1140;
/// native-vlan-id 1140;
/// unit 0 {
///     family ethernet-switching {
///         interface-mode trunk;
///         vlan {
///             members [ vlan1140 vlan1141 ];
///         }
///     }
/// }
/// ```
///
/// Empty text is an unconfigured port. Statements QUADS does not manage are skipped; lines in
/// `| display set` form (`set interfaces P ...`) are read too.
///
/// # Errors
/// When braces do not balance or a VLAN member or id is not a number or `vlan<N>`.
pub fn parse_interface(port: &str, text: &str) -> Result<PortConfig, ParseError> {
    parse_interfaces(&[port], text)
        .pop()
        .unwrap_or_else(|| Err(ParseError(format!("{port}: nothing parsed"))))
}

/// [`parse_interface`] of each of `ports` (in their order) from one answer, read once: a
/// `| display set` answer of a whole switch goes to each port's configuration line by line
/// instead of being read again for every port of the batch. Curly-brace statements, which
/// name no port, go to every port, as they would read alone.
#[must_use]
pub fn parse_interfaces<S: AsRef<str>>(
    ports: &[S],
    text: &str,
) -> Vec<Result<PortConfig, ParseError>> {
    let mut configs: Vec<Result<PortConfig, ParseError>> = ports
        .iter()
        .map(|port| Ok(PortConfig::empty(port.as_ref())))
        .collect();
    let mut slots: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, port) in ports.iter().enumerate() {
        slots.entry(port.as_ref()).or_default().push(i);
    }
    // a port's first error is its answer, as when it is read alone
    let apply = |config: &mut Result<PortConfig, ParseError>, path: &[&str], words: &[&str]| {
        if let Ok(c) = config
            && let Err(e) = apply_statement(c, path, words)
        {
            *config = Err(e);
        }
    };
    let fail_all = |configs: &mut Vec<Result<PortConfig, ParseError>>,
                    why: &dyn Fn(&str) -> String| {
        for config in configs.iter_mut() {
            if let Ok(c) = config {
                *config = Err(ParseError(why(&c.port)));
            }
        }
    };
    let mut path: Vec<&str> = Vec::new();
    for raw in text.lines() {
        let line = strip_comment(raw).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("set ") {
            // `set interfaces P <statement...>`: only the ports asked for are read further
            let mut words = rest.split_whitespace();
            if words.next() != Some("interfaces") {
                continue;
            }
            let Some(targets) = words.next().and_then(|port| slots.get(port)) else {
                continue;
            };
            let words: Vec<&str> = words.collect();
            if words.is_empty() {
                continue;
            }
            let (context, statement) = split_set_statement(&words);
            for &i in targets {
                apply(&mut configs[i], &context, &statement);
            }
            continue;
        }
        if line == "}" {
            if path.pop().is_none() {
                fail_all(&mut configs, &|port| format!("unbalanced `}}` in {port:?}"));
                return configs;
            }
            continue;
        }
        if let Some(block) = line.strip_suffix('{') {
            path.push(block.trim());
            continue;
        }
        let statement = line.trim_end_matches(';').trim();
        let words: Vec<&str> = statement.split_whitespace().collect();
        for config in &mut configs {
            apply(config, &path, &words);
        }
    }
    if !path.is_empty() {
        let open = path.join(" ");
        fail_all(&mut configs, &|port| {
            format!("unclosed block {open:?} in {port:?}")
        });
    }
    for config in configs.iter_mut().flatten() {
        config.vlans.sort_unstable();
        config.vlans.dedup();
    }
    configs
}

fn strip_comment(line: &str) -> &str {
    line.split_once("/*").map_or(line, |(before, _)| before)
}

/// Splits a `display set` statement after the interface into its block path and leaf.
fn split_set_statement<'a>(words: &[&'a str]) -> (Vec<&'static str>, Vec<&'a str>) {
    let mut context = Vec::new();
    let mut rest = words;
    loop {
        match rest {
            // the block names only matter as `unit <n>` and `family ethernet-switching`
            ["unit", _, tail @ ..] => {
                context.push("unit");
                rest = tail;
            }
            ["family", f, tail @ ..] => {
                context.push(if *f == "ethernet-switching" {
                    "family ethernet-switching"
                } else {
                    "family"
                });
                rest = tail;
            }
            ["vlan", tail @ ..] if tail.first() == Some(&"members") => {
                context.push("vlan");
                rest = tail;
            }
            _ => break,
        }
    }
    (context, rest.to_vec())
}

fn apply_statement(
    config: &mut PortConfig,
    path: &[&str],
    words: &[&str],
) -> Result<(), ParseError> {
    let Some((keyword, rest)) = words.split_first() else {
        return Ok(());
    };
    let values = list_values(rest);
    let port = config.port.as_str();
    match (path, *keyword) {
        ([], "apply-groups") => {
            for group in values {
                if let Some(n) = group.strip_prefix("QinQ_vl") {
                    config.qinq_group = Some(number(port, n)?);
                }
            }
        }
        ([], "native-vlan-id") => {
            let value = values
                .first()
                .ok_or_else(|| ParseError(format!("{port}: native-vlan-id without a value")))?;
            config.native_vlan = Some(number(port, value)?);
        }
        ([unit, family], "interface-mode" | "port-mode")
            if is_unit(unit) && *family == "family ethernet-switching" =>
        {
            config.mode = match values.first() {
                Some(&"trunk") => PortMode::Trunk,
                _ => PortMode::Access,
            };
        }
        ([unit, family, "vlan"], "members")
            if is_unit(unit) && *family == "family ethernet-switching" =>
        {
            for member in values {
                config.vlans.extend(vlan_member(port, member)?);
            }
        }
        _ => {}
    }
    Ok(())
}

/// A block path entry `unit <n>` (curly form) or `unit` (a `display set` line's context).
fn is_unit(entry: &str) -> bool {
    entry.split_whitespace().next() == Some("unit")
}

/// `[ a b c ]` or `a` into its values.
fn list_values<'a>(words: &[&'a str]) -> Vec<&'a str> {
    words
        .iter()
        .map(|w| w.trim_matches(|c| c == ';'))
        .filter(|w| !matches!(*w, "[" | "]" | ""))
        .collect()
}

fn number(port: &str, text: &str) -> Result<u16, ParseError> {
    text.parse()
        .map_err(|_| ParseError(format!("{port}: {text:?} is not a VLAN id")))
}

/// `vlan1140`, `1140` or a range `1140-1142` into ids.
fn vlan_member(port: &str, member: &str) -> Result<Vec<u16>, ParseError> {
    let bare = member.strip_prefix("vlan").unwrap_or(member);
    if let Some((low, high)) = bare.split_once('-') {
        let (low, high) = (number(port, low)?, number(port, high)?);
        if low > high {
            return Err(ParseError(format!("{port}: empty VLAN range {member:?}")));
        }
        return Ok((low..=high).collect());
    }
    Ok(vec![number(port, bare)?])
}

/// A complete answer: the text a command printed and the prompt it ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Output between the echoed command and the prompt (`\r` removed, `[edit]` banner dropped).
    pub output: String,
    /// The mode the prompt shows.
    pub mode: CliMode,
}

/// If `buffer` (everything received since the command was sent) ends with a prompt, the answer;
/// `None` while more is to come. `sent` is the command, dropped if the switch echoed it.
#[must_use]
pub fn take_answer(buffer: &str, sent: Option<&str>) -> Option<Answer> {
    let text = buffer.replace('\r', "");
    let (body, last) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    let mode = prompt_mode(last)?;
    let mut lines: Vec<&str> = body.lines().collect();
    if let (Some(sent), Some(first)) = (sent, lines.first())
        && first.trim_end().ends_with(sent.trim())
    {
        lines.remove(0);
    }
    while lines
        .last()
        .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with("[edit"))
    {
        lines.pop();
    }
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    Some(Answer {
        output: lines.join("\n"),
        mode,
    })
}

/// The first complete answer in `buffer`, when several commands were sent at once and their
/// answers follow one another (each ends at its prompt; a terminal that echoes shows the next
/// command on the prompt's line), and how many bytes of `buffer` it took. `sent` is the
/// command it answers, dropped if echoed. `None` while its prompt has not come.
#[must_use]
pub fn take_first_answer(buffer: &str, sent: Option<&str>) -> Option<(Answer, usize)> {
    let mut start = 0;
    loop {
        let end = buffer[start..]
            .find('\n')
            .map_or(buffer.len(), |i| start + i);
        if let Some(len) = prompt_len(&buffer[start..end]) {
            let used = start + len;
            return take_answer(&buffer[..used], sent).map(|answer| (answer, used));
        }
        if end == buffer.len() {
            return None;
        }
        start = end + 1;
    }
}

/// The length of the prompt `line` starts with, if it starts with one (`user@host# ` and
/// whatever the terminal echoed after it).
fn prompt_len(line: &str) -> Option<usize> {
    let line_start = line.len() - line.trim_start_matches('\r').len();
    let space = line[line_start..].find(' ')? + line_start;
    prompt_mode(&line[line_start..=space])?;
    Some(space + 1)
}

/// The mode of a prompt line like `quads@sw01> ` or `quads@sw01# `.
#[must_use]
pub fn prompt_mode(line: &str) -> Option<CliMode> {
    let (head, mode) = if let Some(head) = line.strip_suffix("> ") {
        (head, CliMode::Operational)
    } else if let Some(head) = line.strip_suffix("# ") {
        (head, CliMode::Configuration)
    } else {
        return None;
    };
    let (user, host) = head.split_once('@')?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    };
    (plain(user) && plain(host)).then_some(mode)
}

/// The error a command's output reports, if any (`error: ...`, `syntax error.`,
/// `unknown command.`, `missing argument.`, `invalid ...`).
#[must_use]
pub fn command_error(output: &str) -> Option<String> {
    let error = output.lines().map(str::trim).find(|l| {
        l.starts_with("error:")
            || l.starts_with("syntax error")
            || l.starts_with("unknown command")
            || l.starts_with("missing argument")
            || l.starts_with("invalid ")
    })?;
    Some(error.to_owned())
}

/// What a switch said to `commit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitAnswer {
    /// `commit complete`.
    Complete,
    /// `error: ...` or `commit failed`: nothing was applied.
    Failed {
        /// The switch's words (first error lines).
        message: String,
        /// The configuration database was locked by someone else (worth retrying later).
        locked: bool,
    },
}

/// Reads the answer to `commit`.
///
/// Real shapes: `commit complete`; `error: configuration database locked by: admin terminal p0
/// (pid 4242) on since ...`; `error: commit failed: (statements constraint check failed)`.
#[must_use]
pub fn commit_answer(output: &str) -> CommitAnswer {
    let failed = output.lines().map(str::trim).any(|l| {
        l.starts_with("error:") || l.contains("commit failed") || l.starts_with("syntax error")
    });
    if !failed && output.lines().any(|l| l.trim() == "commit complete") {
        return CommitAnswer::Complete;
    }
    let message: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    let message = if message.is_empty() {
        "no `commit complete` in the answer".to_owned()
    } else {
        message.join(" / ")
    };
    let lower = output.to_ascii_lowercase();
    let locked = lower.contains("database locked")
        || lower.contains("database modified")
        || lower.contains("lock is held");
    CommitAnswer::Failed { message, locked }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(text: &str) -> PortConfig {
        parse_interface("xe-0/0/1", text).expect("parses")
    }

    #[test]
    fn parses_a_qinq_port_as_quads_reads_it() {
        // QUADS's ls_switch_conf reads the first word after `apply-groups` on the first line.
        let c = port("apply-groups QinQ_vl1140;\n");
        assert_eq!(c.qinq_group, Some(1140));
        assert_eq!(c.mode, PortMode::Access);
        assert!(c.vlans.is_empty());
    }

    #[test]
    fn parses_a_trunk_with_members_and_native() {
        // The shape `convert_port_public` leaves, as Junos prints it (4-space indents).
        let text = "native-vlan-id 1140;\nunit 0 {\n    family ethernet-switching {\n        \
                    interface-mode trunk;\n        vlan {\n            members [ vlan1140 1141 \
                    1200-1201 ];\n        }\n    }\n}\n";
        let c = port(text);
        assert_eq!(c.mode, PortMode::Trunk);
        assert_eq!(c.native_vlan, Some(1140));
        assert_eq!(c.vlans, vec![1140, 1141, 1200, 1201]);
        assert_eq!(c.qinq_group, None);
    }

    #[test]
    fn parses_single_member_other_statements_and_comments() {
        let text = "description \"host f01-h01 em2\";\nmtu 9216;\napply-groups [ QinQ_vl1101 MTU ];\n\
                    /* managed by quads */\nunit 0 {\n    description x;\n    family ethernet-switching {\n        \
                    vlan {\n            members vlan1101;\n        }\n    }\n}\n";
        let c = port(text);
        assert_eq!(c.qinq_group, Some(1101));
        assert_eq!(c.vlans, vec![1101]);
    }

    #[test]
    fn parses_display_set_lines() {
        let text = "set interfaces xe-0/0/1 apply-groups QinQ_vl1120\n\
                    set interfaces xe-0/0/1 unit 0 family ethernet-switching interface-mode trunk\n\
                    set interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members vlan1120\n\
                    set interfaces xe-0/0/2 unit 0 family ethernet-switching vlan members vlan9\n";
        let c = port(text);
        assert_eq!(c.qinq_group, Some(1120));
        assert_eq!(c.mode, PortMode::Trunk);
        assert_eq!(c.vlans, vec![1120]);
    }

    #[test]
    fn one_reading_of_a_whole_switch_gives_each_port_what_it_reads_alone() {
        // ports in another order than the answer, one asked twice, one absent, one with a bad
        // member (its error is its own), other families and units ignored as alone
        let text = "set interfaces xe-0/0/1 apply-groups QinQ_vl1120\n\
                    set interfaces xe-0/0/2 native-vlan-id 1150\n\
                    set interfaces xe-0/0/2 unit 0 family ethernet-switching interface-mode trunk\n\
                    set interfaces xe-0/0/2 unit 0 family ethernet-switching vlan members [ vlan1150 vlan1151-1152 ]\n\
                    set interfaces xe-0/0/2 unit 1 family inet address 10.0.0.1/24\n\
                    set interfaces xe-0/0/3 unit 0 family ethernet-switching vlan members vlanX\n\
                    set interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members vlan1120\n\
                    set interfaces xe-0/0/10 native-vlan-id 7\n\
                    set vlans vlan1120 interface xe-0/0/1\n";
        let ports = ["xe-0/0/2", "xe-0/0/9", "xe-0/0/1", "xe-0/0/3", "xe-0/0/2"];
        let together = parse_interfaces(&ports, text);
        assert_eq!(together.len(), ports.len());
        for (port, config) in ports.iter().zip(&together) {
            assert_eq!(*config, parse_interface(port, text), "{port}");
        }
        let two = together[0].as_ref().expect("xe-0/0/2 parses");
        assert_eq!(two.vlans, vec![1150, 1151, 1152]);
        assert_eq!((two.native_vlan, two.mode), (Some(1150), PortMode::Trunk));
        assert_eq!(together[1], Ok(PortConfig::empty("xe-0/0/9")));
        assert!(together[3].is_err(), "xe-0/0/3's member is not a VLAN");
        // curly text names no port: every port reads it, and an unbalanced one fails them all
        let curly = parse_interfaces(&["a", "b"], "native-vlan-id 5;\n");
        assert!(
            curly
                .iter()
                .all(|c| c.as_ref().map(|c| c.native_vlan) == Ok(Some(5)))
        );
        let broken = parse_interfaces(&["a", "b"], "unit 0 {\n");
        assert!(broken.iter().all(Result::is_err));
    }

    #[test]
    fn empty_is_unconfigured_and_bad_text_is_an_error() {
        assert_eq!(port(""), PortConfig::empty("xe-0/0/1"));
        assert!(parse_interface("p", "unit 0 {\n").is_err());
        assert!(parse_interface("p", "}\n").is_err());
        assert!(parse_interface("p", "native-vlan-id blue;\n").is_err());
        assert!(parse_interface("p", "apply-groups QinQ_vlX;\n").is_err());
    }

    #[test]
    fn lines_move_a_qinq_port_to_another_cloud() {
        let current = PortConfig {
            port: "xe-0/0/1".into(),
            mode: PortMode::Access,
            vlans: vec![1100],
            qinq_group: Some(1100),
            native_vlan: None,
        };
        let lines = change_lines(&current, &PortTarget::QinQ { vlan: 1110 });
        assert_eq!(
            lines,
            vec![
                "delete interfaces xe-0/0/1 apply-groups QinQ_vl1100",
                "delete interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members vlan1100",
                "set interfaces xe-0/0/1 apply-groups QinQ_vl1110",
                "set interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members vlan1110",
            ]
        );
        assert!(change_lines(&current, &PortTarget::QinQ { vlan: 1100 }).is_empty());
    }

    #[test]
    fn lines_make_a_public_trunk_and_back() {
        let current = PortTarget::QinQ { vlan: 1104 }.config("et-0/0/3:1");
        let public = PortTarget::Trunk {
            members: vec![1150],
            native: Some(1150),
        };
        let lines = change_lines(&current, &public);
        assert_eq!(
            lines,
            vec![
                "delete interfaces et-0/0/3:1 apply-groups QinQ_vl1104",
                "delete interfaces et-0/0/3:1 unit 0 family ethernet-switching vlan members vlan1104",
                "set interfaces et-0/0/3:1 native-vlan-id 1150",
                "set interfaces et-0/0/3:1 unit 0 family ethernet-switching interface-mode trunk",
                "set interfaces et-0/0/3:1 unit 0 family ethernet-switching vlan members vlan1150",
            ]
        );
        let trunk = public.config("et-0/0/3:1");
        let back = change_lines(&trunk, &PortTarget::Access { vlan: 1104 });
        assert_eq!(
            back,
            vec![
                "delete interfaces et-0/0/3:1 native-vlan-id",
                "delete interfaces et-0/0/3:1 unit 0 family ethernet-switching vlan members vlan1150",
                "set interfaces et-0/0/3:1 unit 0 family ethernet-switching interface-mode access",
                "set interfaces et-0/0/3:1 unit 0 family ethernet-switching vlan members vlan1104",
            ]
        );
    }

    #[test]
    fn ports_are_validated() {
        assert!(is_valid_port("xe-0/0/12"));
        assert!(is_valid_port("et-0/0/3:1"));
        assert!(!is_valid_port("xe-0/0/1; delete interfaces"));
        assert!(!is_valid_port("xe-0/0/1\ncommit"));
        assert!(!is_valid_port(""));
    }

    #[test]
    fn answers_end_at_a_prompt() {
        // A pty echoes the command; configuration mode prints `[edit]` above its prompt.
        let buffer = "show configuration interfaces xe-0/0/1\r\napply-groups QinQ_vl1100;\r\n\r\nquads@sw01> ";
        let a = take_answer(buffer, Some("show configuration interfaces xe-0/0/1")).expect("done");
        assert_eq!(a.output, "apply-groups QinQ_vl1100;");
        assert_eq!(a.mode, CliMode::Operational);
        let a =
            take_answer("Entering configuration mode\n\n[edit]\nquads@sw01# ", None).expect("done");
        assert_eq!(a.output, "Entering configuration mode");
        assert_eq!(a.mode, CliMode::Configuration);
        assert_eq!(take_answer("apply-groups QinQ_vl1100;\n", None), None);
        assert_eq!(take_answer("members [ a b ]; # ", None), None);
        assert_eq!(prompt_mode("quads@sw01> "), Some(CliMode::Operational));
        assert_eq!(
            prompt_mode("root@sw-1.lab:RE:0# "),
            Some(CliMode::Configuration)
        );
    }

    #[test]
    fn answers_sent_together_are_taken_one_at_a_time() {
        // no echo (the lab), each answer `[edit]` and the prompt
        let a = "set a\n";
        let fake = "\n[edit]\nquads@sw01# error: x not found\n\n[edit]\nquads@sw01# \n[edit]\nquads@sw01# ";
        let (first, used) = take_first_answer(fake, Some("set a")).expect("first");
        assert_eq!(
            (first.output.as_str(), first.mode),
            ("", CliMode::Configuration)
        );
        let rest = &fake[used..];
        let (second, used2) = take_first_answer(rest, Some("set b")).expect("second");
        assert_eq!(second.output, "error: x not found");
        let (third, used3) = take_first_answer(&rest[used2..], Some("set c")).expect("third");
        assert_eq!(third.output, "");
        assert_eq!(used2 + used3, rest.len());
        // a terminal's echo: the next command follows the prompt on its line
        let echoed = "set a\r\n\r\n[edit]\r\nquads@sw01# set b\r\nsyntax error.\r\n\r\n[edit]\r\nquads@sw01# se";
        let (first, used) = take_first_answer(echoed, Some("set a")).expect("first");
        assert_eq!(first.output, "");
        assert!(echoed[used..].starts_with("set b"));
        let (second, used2) = take_first_answer(&echoed[used..], Some("set b")).expect("second");
        assert_eq!(second.output, "syntax error.");
        // the third has only begun
        assert_eq!(
            take_first_answer(&echoed[used + used2..], Some("set c")),
            None
        );
        // no prompt yet, or text that only looks like one inside a line
        assert_eq!(take_first_answer(a, None), None);
        assert_eq!(
            take_first_answer("description \"x@y> z\";\nquads@sw01", None),
            None
        );
    }

    #[test]
    fn command_errors_are_found() {
        // Junos answers an unknown word with a caret line and `syntax error.`
        let out = "        ^\nsyntax error.";
        assert_eq!(command_error(out).as_deref(), Some("syntax error."));
        assert_eq!(
            command_error("unknown command."),
            Some("unknown command.".into())
        );
        assert_eq!(command_error("apply-groups QinQ_vl1100;"), None);
    }

    #[test]
    fn commit_answers_are_classified() {
        assert_eq!(commit_answer("commit complete"), CommitAnswer::Complete);
        assert_eq!(
            commit_answer("configuration check succeeds\ncommit complete"),
            CommitAnswer::Complete
        );
        let failed = commit_answer(
            "[edit interfaces xe-0/0/1]\n  'unit 0'\n    error: commit failed: (statements constraint check failed)",
        );
        assert!(
            matches!(failed, CommitAnswer::Failed { locked: false, .. }),
            "{failed:?}"
        );
        let locked = commit_answer(
            "error: configuration database locked by:\n  admin terminal p0 (pid 4242) on since 2024-05-02 10:01:02 UTC\n      exclusive [edit]",
        );
        assert!(
            matches!(locked, CommitAnswer::Failed { locked: true, .. }),
            "{locked:?}"
        );
        assert!(matches!(
            commit_answer(""),
            CommitAnswer::Failed { locked: false, .. }
        ));
    }
}
