//! `rackscope plugin new NAME`: TODO
use std::path::Path;
use std::process::ExitCode;
pub fn run(_name: &str, _dir: Option<&Path>, _config: &Path) -> ExitCode { ExitCode::FAILURE }
