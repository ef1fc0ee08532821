use clap::Parser;
use livechat_gateway::cli;
use livechat_gateway::settings::Cli;

fn main() -> std::process::ExitCode {
    livechat_gateway::telemetry::init();
    cli::run(Cli::parse())
}
