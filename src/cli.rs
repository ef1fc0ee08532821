//! The subcommands: `serve` (default), `openapi`, `deliveries`, `check`.

use std::process::ExitCode;

use crate::settings::{Cli, Command, Settings};
use crate::startup::{Application, BoxError};

pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(s)) => serve(*s),
        Some(Command::Openapi { out }) => write_connector_files(&out),
        Some(Command::Deliveries { action }) => crate::relay::admin::run(action),
        Some(Command::Check(args)) => {
            return match crate::check::run(*args) {
                true => ExitCode::SUCCESS,
                false => ExitCode::FAILURE,
            }
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("livechat-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_connector_files(out: &std::path::Path) -> Result<(), BoxError> {
    crate::openapi::write_files(out)
        .map_err(|e| format!("cannot write to {}: {e}", out.display()))?;
    println!("wrote the connector files to {}", out.display());
    Ok(())
}

fn serve(settings: Settings) -> Result<(), BoxError> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        log::info!(
            "livechat-gateway listening on port {}, public URL {}",
            app.port(),
            app.public_url()
        );
        if let Some(demo) = app.demo() {
            println!(
                "{}",
                crate::sandbox::banner(
                    app.public_url().as_str(),
                    demo,
                    app.state().settings.livechat_api
                )
            );
        }
        app.stop_on_signals();
        app.run_until_stopped().await?;
        Ok(())
    })
}
