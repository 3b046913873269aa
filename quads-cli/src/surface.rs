//! (Test-only.) The operator surface as data: for every command of the clap tree, the quads.toml sections
//! it reads, the environment variables it reads and its output flag, rendered as the README's
//! tables. A test walks the command tree and fails when the README says otherwise (or a new
//! command has no entry here), so the tables cannot drift.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// One setting: its key in quads.toml (none for a secret, never written there) and the one
/// environment variable that overrides it (none for the tables read as they are). The README's
/// tables are made from this list; a test checks it against the variables config.rs reads.
#[derive(Debug, Clone, Copy)]
struct Setting {
    /// `section.key`.
    key: Option<&'static str>,
    /// The variable.
    env: Option<&'static str>,
}

const fn setting(key: &'static str, env: &'static str) -> Setting {
    Setting {
        key: Some(key),
        env: Some(env),
    }
}

const fn secret_env(env: &'static str) -> Setting {
    Setting {
        key: None,
        env: Some(env),
    }
}

const fn file_only(key: &'static str) -> Setting {
    Setting {
        key: Some(key),
        env: None,
    }
}

/// Every setting of quads.toml, by section.
const SETTINGS: &[(&str, &[Setting])] = &[
    ("store", &[setting("store.path", "QUADS_STORE_PATH")]),
    (
        "moves",
        &[setting(
            "moves.untouchable_hosts",
            "QUADS_UNTOUCHABLE_HOSTS",
        )],
    ),
    (
        "foreman",
        &[
            setting("foreman.url", "QUADS_FOREMAN_URL"),
            setting("foreman.username", "QUADS_FOREMAN_USERNAME"),
            secret_env("QUADS_FOREMAN_PASSWORD"),
            setting("foreman.password_file", "QUADS_FOREMAN_PASSWORD_FILE"),
            setting("foreman.infra_location", "QUADS_INFRA_LOCATION"),
        ],
    ),
    (
        "bmc",
        &[
            setting("bmc.username", "QUADS_BMC_USERNAME"),
            secret_env("QUADS_BMC_PASSWORD"),
            setting("bmc.password_file", "QUADS_BMC_PASSWORD_FILE"),
        ],
    ),
    (
        "network",
        &[
            setting("network.sw_vlan_first", "QUADS_SW_VLAN_FIRST"),
            setting("network.driver", "QUADS_NETWORK_DRIVER"),
            file_only("network.command"),
            file_only("network.args"),
            setting("network.username", "QUADS_SWITCH_USERNAME"),
            secret_env("QUADS_SWITCH_PASSWORD"),
            setting("network.password_file", "QUADS_SWITCH_PASSWORD_FILE"),
            file_only("network.host_key_fingerprints"),
            file_only("network.insecure_host_keys"),
            setting("network.ssh_port", "QUADS_SWITCH_SSH_PORT"),
        ],
    ),
    (
        "quads",
        &[
            setting("quads.url", "QUADS_API_URL"),
            setting("quads.username", "QUADS_API_USERNAME"),
            secret_env("QUADS_API_PASSWORD"),
            setting("quads.password_file", "QUADS_API_PASSWORD_FILE"),
            setting("quads.bmc_address", "QUADS_API_BMC_ADDRESS"),
            file_only("quads.resolve_file"),
            file_only("quads.default_os"),
            file_only("quads.default_ptable"),
            file_only("quads.default_medium"),
        ],
    ),
    ("executor", &[file_only("executor.*")]),
    ("validation", &[file_only("validation.*")]),
    ("notify", &[file_only("notify.*")]),
];

/// The sections every command with a store reads (resolved and checked together).
const CORE_SECTIONS: &[&str] = &["store", "moves", "foreman", "bmc", "network", "quads"];

/// What one command reads beyond its flags.
struct Reads {
    /// quads.toml sections.
    sections: Vec<&'static str>,
    /// Variables read beside those of the sections and the flags' own.
    env: &'static [&'static str],
}

fn core(more: &[&'static str]) -> Reads {
    let mut sections = CORE_SECTIONS.to_vec();
    sections.extend_from_slice(more);
    Reads { sections, env: &[] }
}

/// What the command at `path` (`["host", "ls"]`) reads; `None` for a command this table does
/// not know yet (the README test then names it).
fn reads(path: &[&str]) -> Option<Reads> {
    Some(match path {
        ["oob"] => Reads {
            sections: vec!["bmc"],
            env: &[],
        },
        ["foreman", "host" | "status", ..] => Reads {
            sections: vec!["foreman"],
            env: &["QUADS_FOREMAN_TOKEN"],
        },
        ["move-hosts"] => core(&["executor", "validation", "notify"]),
        ["validate"] => core(&["executor", "validation"]),
        ["notify"] => core(&["notify"]),
        ["import"] | ["foreman", "heal"] => core(&["executor"]),
        [
            "init" | "host" | "cloud" | "assignment" | "schedule" | "runs",
            ..,
        ] => core(&[]),
        ["completions" | "man"] => Reads {
            sections: vec![],
            env: &[],
        },
        _ => return None,
    })
}

/// `-o/--output a|b`, from the flag itself.
fn flag_text(arg: &clap::Arg) -> String {
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    format!("`{}` {}", names.join("/"), values.join("\\|"))
        .trim_end()
        .to_owned()
}

/// The commands that do something (leaves of the tree), with their ancestors' arguments.
fn leaves<'a>(
    command: &'a clap::Command,
    path: &mut Vec<&'a str>,
    inherited: &mut Vec<&'a clap::Arg>,
    out: &mut Vec<(Vec<&'a str>, Vec<&'a clap::Arg>)>,
) {
    let depth = inherited.len();
    inherited.extend(command.get_arguments());
    let subcommands: Vec<_> = command
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .collect();
    if subcommands.is_empty() {
        out.push((path.clone(), inherited.clone()));
    }
    for sub in subcommands {
        path.push(sub.get_name());
        leaves(sub, path, inherited, out);
        path.pop();
    }
    inherited.truncate(depth);
}

/// The README's tables: the global options, the settings and the commands.
///
/// # Errors
/// Names a command this file has no entry for.
pub fn readme_tables(root: &clap::Command) -> Result<String, String> {
    let mut root = root.clone();
    root.build();
    let mut text = String::new();
    let globals: Vec<&clap::Arg> = root.get_arguments().filter(|a| a.is_global_set()).collect();
    if !globals.is_empty() {
        text.push_str("| global option | env | what |\n|---|---|---|\n");
        for arg in globals {
            let env = match (arg.get_env(), arg.get_id().as_str()) {
                (Some(e), _) => format!("`{}`", e.to_string_lossy()),
                (None, "verbose" | "quiet") => "`QUADS_LOG` (wins)".to_owned(),
                (None, "color") => "`NO_COLOR`".to_owned(),
                (None, _) => String::new(),
            };
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            let _ = writeln!(
                text,
                "| {} | {env} | {} |",
                flag_text(arg),
                first_line(&help)
            );
        }
        text.push('\n');
    }
    text.push_str("| quads.toml key | env |\n|---|---|\n");
    for (_, settings) in SETTINGS {
        for s in *settings {
            let key = s
                .key
                .map_or("(secret: env only)".to_owned(), |k| format!("`{k}`"));
            let env = s.env.map_or(String::new(), |e| format!("`{e}`"));
            let _ = writeln!(text, "| {key} | {env} |");
        }
    }
    let core: Vec<String> = CORE_SECTIONS.iter().map(|s| format!("`[{s}]`")).collect();
    let _ = write!(
        text,
        "\n\"core\" is {}, resolved and checked together.\n",
        core.join(" ")
    );
    text.push_str(
        "\n| command | quads.toml sections | env (beside its sections' and the global ones) | output |\n|---|---|---|---|\n",
    );
    let mut all = Vec::new();
    leaves(&root, &mut Vec::new(), &mut Vec::new(), &mut all);
    for (path, args) in all {
        let reads = reads(&path).ok_or_else(|| {
            format!(
                "`quads {}` has no entry in surface.rs: say what it reads",
                path.join(" ")
            )
        })?;
        let mut env: BTreeSet<String> = reads.env.iter().map(|e| (*e).to_owned()).collect();
        env.extend(
            args.iter()
                .filter(|a| !a.is_global_set())
                .filter_map(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned()),
        );
        // (those of its sections are in the settings table)
        for (section, settings) in SETTINGS {
            if reads.sections.contains(section) {
                for name in settings.iter().filter_map(|s| s.env) {
                    env.remove(name);
                }
            }
        }
        let output = args
            .iter()
            .find(|a| matches!(a.get_id().as_str(), "output" | "format") && !a.is_hide_set())
            .map_or("—".to_owned(), |a| flag_text(a));
        let mut sections: Vec<String> = Vec::new();
        let mut rest = reads.sections.as_slice();
        if let Some(more) = rest.strip_prefix(CORE_SECTIONS) {
            sections.push("core".to_owned());
            rest = more;
        }
        sections.extend(rest.iter().map(|s| format!("`[{s}]`")));
        let env: Vec<String> = env.iter().map(|e| format!("`{e}`")).collect();
        let _ = writeln!(
            text,
            "| `quads {}` | {} | {} | {output} |",
            path.join(" "),
            if sections.is_empty() {
                "—".to_owned()
            } else {
                sections.join(" ")
            },
            if env.is_empty() {
                "—".to_owned()
            } else {
                env.join(" ")
            },
        );
    }
    Ok(text)
}

fn first_line(help: &str) -> &str {
    help.lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::CommandFactory as _;

    use super::*;

    const BEGIN: &str = "<!-- commands: generated by quads-cli/src/surface.rs -->\n";
    const END: &str = "<!-- commands: end -->";

    /// The README's tables are the command tree's. `QUADS_UPDATE_README=1` rewrites them.
    #[test]
    fn the_readme_tables_are_the_command_tree() {
        let want = readme_tables(&crate::Cli::command()).unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (before, rest) = readme.split_once(BEGIN).expect("the README's begin marker");
        let (have, after) = rest.split_once(END).expect("the README's end marker");
        if have != want {
            if std::env::var_os("QUADS_UPDATE_README").is_some() {
                std::fs::write(path, format!("{before}{BEGIN}{want}{END}{after}")).unwrap();
            }
            panic!(
                "README.md's command tables differ from the command tree; rerun with \
                 QUADS_UPDATE_README=1 to rewrite them. Expected:\n{want}"
            );
        }
    }

    #[test]
    fn an_unknown_command_is_named() {
        let root = clap::Command::new("quads").subcommand(clap::Command::new("frobnicate"));
        let err = readme_tables(&root).unwrap_err();
        assert!(err.contains("`quads frobnicate`"), "{err}");
    }

    #[test]
    fn output_flags_and_env_come_from_the_flags() {
        let root = clap::Command::new("quads").subcommand(
            clap::Command::new("man")
                .arg(
                    clap::Arg::new("output")
                        .short('o')
                        .long("output")
                        .value_parser(["text", "json"]),
                )
                .arg(clap::Arg::new("x").long("x").env("QUADS_X")),
        );
        let text = readme_tables(&root).unwrap();
        assert!(
            text.contains("| `quads man` | — | `QUADS_X` | `-o/--output` text\\|json |"),
            "{text}"
        );
    }

    #[test]
    fn the_settings_list_names_every_variable_this_file_reads() {
        let source = include_str!("config.rs");
        let (code, _) = source.split_once("#[cfg(test)]\nmod tests").unwrap();
        let listed: BTreeSet<&str> = SETTINGS
            .iter()
            .flat_map(|(_, s)| s.iter().filter_map(|s| s.env))
            .collect();
        // every `"QUADS_..."` literal of the loader (the template's comments aside)
        let read: BTreeSet<&str> = code
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                w.starts_with("QUADS_") && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .filter(|w| *w != "QUADS_CONFIG")
            .collect();
        let files: BTreeSet<String> = read
            .iter()
            .filter(|v| v.ends_with("_PASSWORD"))
            .map(|v| format!("{v}_FILE"))
            .collect();
        let mut all: BTreeSet<&str> = read.clone();
        all.extend(files.iter().map(String::as_str));
        assert_eq!(listed, all);
        // and every section of the file format is listed
        for section in CORE_SECTIONS
            .iter()
            .chain(&["executor", "validation", "notify"])
        {
            assert!(SETTINGS.iter().any(|(s, _)| s == section), "{section}");
            assert!(code.contains(&format!("    {section}:")), "{section}");
        }
    }
}
