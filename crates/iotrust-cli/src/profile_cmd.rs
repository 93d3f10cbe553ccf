//! `iotrust profile new`: start a profile the way a manufacturer would — a commented template
//! of every question, or the questions asked in the terminal. The questions, their grouping
//! and the files written come from `iotrust_assess::template`; this module maps flags and
//! drives the prompts (dialoguer).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use dialoguer::{Input, Select};
use iotrust_assess::template::{self, Group, IdentityAnswers, Question, Start};
use iotrust_catalog::expr::FactValue;
use iotrust_catalog::model::FactKind;
use iotrust_catalog::Catalog;

use crate::exit;
use crate::output::emit;

#[derive(Subcommand)]
pub enum ProfileCmd {
    /// Write a profile template: every question of the catalog, commented out, with its type
    /// and allowed values, grouped by lifecycle phase. With --interactive, ask the questions in
    /// the terminal and write the answered profile.
    New {
        /// File to write (default: standard output). An existing file is not overwritten
        /// unless --force is given.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Product category (`iotrust catalog facts` lists them).
        #[arg(long)]
        category: Option<String>,
        /// Markets the product will be sold in, comma-separated (UK,EU,...).
        #[arg(long, value_delimiter = ',')]
        markets: Vec<String>,
        /// Ask the questions in the terminal (Enter leaves one unknown) and write the answers.
        #[arg(long)]
        interactive: bool,
        /// Overwrite the output file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Rewrite an iotrust-profile/1 file as iotrust-profile/2, keeping comments; facts that
    /// were conclusions are removed and listed for the maker to state.
    Upgrade(crate::profile_upgrade::UpgradeArgs),
}

pub fn run(cat: &Catalog, cmd: ProfileCmd) -> anyhow::Result<u8> {
    let (output, category, markets, interactive, force) = match cmd {
        ProfileCmd::Upgrade(args) => return crate::profile_upgrade::run(cat, args),
        ProfileCmd::New {
            output,
            category,
            markets,
            interactive,
            force,
        } => (output, category, markets, interactive, force),
    };
    let start = Start {
        category,
        markets: markets
            .into_iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect(),
    };
    if let Some(p) = &output {
        if p.exists() && !force {
            bail!(
                "{} exists: give another file, or --force to overwrite it",
                p.display()
            );
        }
    }
    let text = if interactive {
        // check the flags before asking anything
        template::template(cat, &start).map_err(|e| anyhow!("{e}"))?;
        ask_all(cat, &start)?
    } else {
        template::template(cat, &start).map_err(|e| anyhow!("{e}"))?
    };
    match &output {
        Some(p) => {
            write(p, &text, force)?;
            eprintln!(
                "wrote {}{}",
                p.display(),
                if interactive {
                    String::new()
                } else {
                    format!("; check it with `iotrust assess {}`", p.display())
                }
            );
        }
        None => emit(&text)?,
    }
    Ok(exit::OK)
}

fn write(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    let mut f = if force {
        std::fs::File::create(path)
    } else {
        std::fs::File::create_new(path)
    }
    .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// dialoguer's plain theme, without the colon after a prompt that is already a question
/// (`Is it meant for consumers?` rather than `...consumers?:`).
struct Plain;

fn sep(prompt: &str) -> &'static str {
    if prompt.ends_with('?') {
        ""
    } else {
        ":"
    }
}

impl dialoguer::theme::Theme for Plain {
    fn format_prompt(&self, f: &mut dyn std::fmt::Write, prompt: &str) -> std::fmt::Result {
        write!(f, "{prompt}{}", sep(prompt))
    }
    fn format_input_prompt(
        &self,
        f: &mut dyn std::fmt::Write,
        prompt: &str,
        default: Option<&str>,
    ) -> std::fmt::Result {
        match default {
            Some(d) => write!(f, "{prompt} [{d}]{} ", sep(prompt)),
            None => write!(f, "{prompt}{} ", sep(prompt)),
        }
    }
    fn format_input_prompt_selection(
        &self,
        f: &mut dyn std::fmt::Write,
        prompt: &str,
        sel: &str,
    ) -> std::fmt::Result {
        write!(f, "{prompt}{} {sel}", sep(prompt))
    }
}

/// A prompt's failure in words: no terminal, or interrupted.
fn prompt_error(e: dialoguer::Error) -> anyhow::Error {
    let dialoguer::Error::IO(io) = e;
    match io.kind() {
        std::io::ErrorKind::Interrupted => anyhow!("interrupted: nothing written"),
        _ => anyhow!("cannot ask in the terminal: {io}"),
    }
}

fn text_input(prompt: &str, required: bool) -> anyhow::Result<Option<String>> {
    let s: String = Input::with_theme(&Plain)
        .with_prompt(prompt)
        .allow_empty(!required)
        .validate_with(|s: &String| -> Result<(), &str> {
            if required && s.trim().is_empty() {
                Err("an answer is needed")
            } else {
                Ok(())
            }
        })
        .interact_text()
        .map_err(prompt_error)?;
    let s = s.trim().to_string();
    Ok((!s.is_empty()).then_some(s))
}

/// Ask one question; `None` is unknown.
fn ask(q: &Question, prompt: &str) -> anyhow::Result<Option<FactValue>> {
    match q.kind {
        FactKind::Bool | FactKind::Enum => {
            let mut items: Vec<String> = match q.kind {
                FactKind::Bool => vec!["yes".into(), "no".into()],
                _ => q.allowed.clone(),
            };
            if items.is_empty() {
                return ask_text(q, prompt);
            }
            let unknown = if q.required {
                None
            } else {
                // an allowed value may itself be called `unknown`
                let word = if items.iter().any(|i| i == "unknown") {
                    "(not known)"
                } else {
                    "unknown"
                };
                items.push(word.into());
                Some(items.len() - 1)
            };
            let i = Select::with_theme(&Plain)
                .with_prompt(prompt)
                .items(&items)
                .default(unknown.unwrap_or(0))
                .interact()
                .map_err(prompt_error)?;
            if Some(i) == unknown {
                return Ok(None);
            }
            let v = items.get(i).cloned().unwrap_or_default();
            Ok(Some(match q.kind {
                FactKind::Bool => FactValue::Bool(v == "yes"),
                _ => FactValue::Str(v),
            }))
        }
        _ => ask_text(q, prompt),
    }
}

fn ask_text(q: &Question, prompt: &str) -> anyhow::Result<Option<FactValue>> {
    let full = if q.required {
        format!("{prompt} ({})", q.hint())
    } else {
        format!("{prompt} ({}; Enter: unknown)", q.hint())
    };
    let s: String = Input::with_theme(&Plain)
        .with_prompt(full)
        .allow_empty(!q.required)
        .validate_with(|s: &String| q.parse_answer(s).map(|_| ()))
        .interact_text()
        .map_err(prompt_error)?;
    q.parse_answer(&s).map_err(|e| anyhow!("{}: {e}", q.fact))
}

/// Ask the identity, then every question of the catalog in lifecycle order.
fn ask_all(cat: &Catalog, start: &Start) -> anyhow::Result<String> {
    let term = dialoguer::console::Term::stderr();
    if !term.is_term() {
        bail!("--interactive needs a terminal; without one, `iotrust profile new` writes the template to fill in");
    }
    let say = |line: &str| term.write_line(line).map_err(|e| anyhow!("{e}"));
    let qs = template::questions(cat);
    say(&format!(
        "{} questions from catalog {}. Enter leaves a question unknown; unknown is never written as no.",
        qs.len(),
        cat.version()
    ))?;
    say("— the product —")?;
    let mut id = IdentityAnswers {
        manufacturer: text_input("Manufacturer (the name on the product)", true)?
            .unwrap_or_default(),
        model: text_input("Model designation", true)?.unwrap_or_default(),
        ..IdentityAnswers::default()
    };
    id.name = text_input("Marketing name (Enter: none)", false)?;
    id.hardware_version = text_input("Hardware version (Enter: none)", false)?;
    id.firmware_version = text_input("Firmware version (Enter: none)", false)?;
    id.url = text_input("Product page URL (Enter: none)", false)?;
    let mut answers = Vec::new();
    let mut group: Option<Group> = None;
    for (n, q) in qs.iter().enumerate() {
        let preset = match q.fact.as_str() {
            "product.category" => start.category.clone().map(FactValue::Str),
            "product.markets" if !start.markets.is_empty() => {
                Some(FactValue::List(start.markets.clone()))
            }
            _ => None,
        };
        if let Some(v) = preset {
            answers.push((q.id, v));
            continue;
        }
        if group != Some(q.group()) {
            group = Some(q.group());
            say(&format!("— {} —", q.group()))?;
        }
        let prompt = format!("[{}/{}] {}", n + 1, qs.len(), q.text);
        if let Some(v) = ask(q, &prompt)? {
            answers.push((q.id, v));
        }
    }
    template::answered_profile(cat, &id, &answers).map_err(|e| anyhow!("{e}"))
}
