use clap::Parser;
use livechat_gateway::cli;
use livechat_gateway::settings::Cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    livechat_gateway::telemetry::init(cli.log_format());
    cli::run(cli)
}
