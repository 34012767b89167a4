//! `agenttier template list | get`

use agenttier::blocking::Client;

use super::CmdResult;
use crate::cli::TemplateCommand;
use crate::exit::OK;
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
    }
    Ok(OK)
}
