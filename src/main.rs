use clap::Parser;
use livechat_gateway::cli;
use livechat_gateway::settings::Cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    livechat_gateway::telemetry::init(cli.log_format(), cli.log_flush_ms());
    let code = cli::run(cli);
    livechat_gateway::telemetry::flush();
    code
}
