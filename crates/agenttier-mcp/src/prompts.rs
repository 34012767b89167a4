//! Prompts that show a model the loop the tools are made for: create a sandbox, wait for it,
//! work in it, clean up — and the agent-mode variant.

use rmcp::ErrorData;
use rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value};

/// The prompts offered.
pub(crate) fn list() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "sandbox_task",
            Some("Do a task in a fresh sandbox: create it, wait, run commands and edit files, report, clean up"),
            Some(vec![
                PromptArgument::new("task")
                    .with_description("What to do in the sandbox")
                    .with_required(true),
                PromptArgument::new("template")
                    .with_description("Template to start from (default general-coding)")
                    .with_required(false),
            ]),
        ),
        Prompt::new(
            "agent_deploy",
            Some("Deploy a program to an agent-mode sandbox, invoke it, and clean up"),
            Some(vec![
                PromptArgument::new("goal")
                    .with_description("What the agent program should do")
                    .with_required(true),
            ]),
        ),
    ]
}

/// One prompt with its arguments filled in.
pub(crate) fn get(name: &str, arguments: Option<&Map<String, Value>>) -> Result<GetPromptResult, ErrorData> {
    let arg = |key: &str| {
        arguments
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let required = |key: &str| {
        arg(key).ok_or_else(|| ErrorData::invalid_params(format!("prompt {name} needs the argument {key:?}"), None))
    };
    let (description, text) = match name {
        "sandbox_task" => {
            let task = required("task")?;
            let template = arg("template").unwrap_or("general-coding");
            (
                "Do a task in a fresh AgentTier sandbox",
                format!(
                    "Use the AgentTier tools to do this task in an isolated sandbox:\n\n{task}\n\n\
                     1. Call sandbox_create with template \"{template}\" and a short lowercase name \
                     (letters, digits, '-').\n\
                     2. Call sandbox_wait with its sandbox_id until it is Running.\n\
                     3. Work in it: sandbox_run_command runs shell commands in /workspace; file_write \
                     and file_read move files (use encoding \"base64\" for binary content); file_list \
                     shows a directory.\n\
                     4. Report what you found or built, quoting the relevant command output.\n\
                     5. Call sandbox_terminate when you are done, even after a failure, so that no \
                     sandbox is left running.\n\
                     If a tool returns an error, read its \"hint\" field: it says what to do next."
                ),
            )
        }
        "agent_deploy" => {
            let goal = required("goal")?;
            (
                "Deploy and run an agent-mode sandbox",
                format!(
                    "Build a small program that does this, and run it as an AgentTier agent:\n\n{goal}\n\n\
                     1. Call sandbox_create with template \"agent-python\", then sandbox_wait.\n\
                     2. Call agent_configure with the program in files (under /workspace), an \
                     install_command if it needs dependencies, and its entrypoint argv.\n\
                     3. Call agent_invoke with the input; its output streams as progress and comes \
                     back as stdout/stderr with the exit code. agent_cancel stops a run that hangs.\n\
                     4. Fix and re-configure until it works, then report the result.\n\
                     5. Call sandbox_terminate when you are done."
                ),
            )
        }
        other => {
            return Err(ErrorData::invalid_params(
                format!("no prompt named {other:?}: prompts/list shows sandbox_task and agent_deploy"),
                None,
            ));
        }
    };
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).with_description(description))
}
