//! `agenttier template list | get | create | update | delete`

use std::io::Read;

use agenttier::blocking::Client;
use agenttier::models::TemplateDefinition;
use serde_json::{Value, json};

use super::CmdResult;
use crate::cli::{TemplateCommand, TemplateEditArgs, TemplateMode};
use crate::exit::{Failure, OK};
use crate::output::Out;
use crate::views::TemplateView;

/// Runs a template command.
pub fn run(cmd: TemplateCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        TemplateCommand::List => {
            let templates = client.list_templates()?;
            if out.json() {
                let views: Vec<_> = templates.iter().map(TemplateView::from).collect();
                out.print_json(&views)?;
            } else {
                let rows: Vec<Vec<String>> = templates
                    .iter()
                    .map(|t| {
                        let image = if t.image.is_empty() { "-" } else { &t.image };
                        vec![
                            t.name.clone(),
                            t.mode().to_string(),
                            image.to_owned(),
                            t.description.clone(),
                        ]
                    })
                    .collect();
                out.table(&["NAME", "MODE", "IMAGE", "DESCRIPTION"], &rows, |_, _, c| c.to_owned())?;
            }
        }
        // Always JSON, as in the Python CLI, so scripts reading it keep working.
        TemplateCommand::Get { name } => out.print_json(&TemplateView::from(&client.get_template(&name)?))?,
        TemplateCommand::Create(args) => {
            let def = definition(args, None)?;
            let created = client.create_template(&def)?;
            out.print_json(&TemplateView::from(&created))?;
        }
        TemplateCommand::Update(args) => {
            // Flags alone edit the current template (the Router's PUT is a full replace).
            let current = match (&args.file, &args.name) {
                (None, Some(name)) => {
                    let t = client.get_template(name)?;
                    Some(TemplateDefinition::new(t.name, t.spec).description(t.description))
                }
                _ => None,
            };
            let def = definition(args, current)?;
            let updated = client.update_template(&def)?;
            out.print_json(&TemplateView::from(&updated))?;
        }
        TemplateCommand::Delete { name } => {
            client.delete_template(&name)?;
            if out.json() {
                out.print_json(&json!({"deleted": name}))?;
            } else {
                out.line(&format!("deleted template {name}"))?;
            }
        }
    }
    Ok(OK)
}

/// The definition the file (else `base`, else an empty one) and flags describe.
fn definition(args: TemplateEditArgs, base: Option<TemplateDefinition>) -> Result<TemplateDefinition, Failure> {
    let mut def = match &args.file {
        Some(file) => {
            let text = read_text(file)?;
            let doc: Value = yaml_serde::from_str(&text)
                .map_err(|e| Failure::config(format!("{file} is neither JSON nor YAML: {e}")))?;
            TemplateDefinition::from_value(doc).map_err(|e| Failure::config(format!("{file}: {e}")))?
        }
        None => base.unwrap_or_else(|| TemplateDefinition::new("", json!({}))),
    };
    if let Some(name) = args.name {
        def = def.with_name(name);
    }
    if def.name().is_empty() {
        return Err(Failure::config(
            "a template name is needed: give it as an argument or in the file's \"name\"",
        ));
    }
    if let Some(d) = args.description {
        def = def.description(d);
    }
    let Some(spec) = def.spec_mut().as_object_mut() else {
        return Err(Failure::config("the template's \"spec\" must be an object"));
    };
    if let Some(mode) = args.mode {
        let mode = match mode {
            TemplateMode::Code => "code",
            TemplateMode::Agent => "agent",
        };
        spec.insert("mode".into(), mode.into());
    }
    if let Some(repository) = args.image {
        let image = spec.entry("image").or_insert_with(|| json!({}));
        if !image.is_object() {
            *image = json!({});
        }
        image["repository"] = repository.into();
    }
    Ok(def)
}

/// The text of `file`, or of stdin for `-`.
pub(super) fn read_text(file: &str) -> Result<String, Failure> {
    let mut text = String::new();
    let read = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| Failure::io(&format!("cannot read {file}"), &e))?;
    Ok(text)
}
