//! The analysis commands of a lean build (`--no-default-features`, e.g. the CUDA binary that
//! is copied to a GPU machine): the same names, so a user who types them learns why they are
//! missing and how to get them, instead of clap's "unrecognized subcommand".

use std::ffi::OsString;

macro_rules! unavailable {
    ($args:ident, $fun:ident, $name:literal) => {
        #[derive(Debug, clap::Args)]
        pub struct $args {
            /// Ignored: this build has no analysis.
            #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
            _rest: Vec<OsString>,
        }

        pub fn $fun(_: $args) -> anyhow::Result<()> {
            anyhow::bail!(
                "`clipbench {}` is not in this build: it was built without the `analysis` \
                 feature (a lean binary for training only). Copy the results directory to a \
                 machine with a full build (`cargo build --release -p clipbench`) and run it there",
                $name
            )
        }
    };
}

unavailable!(AggregateArgs, aggregate, "aggregate");
unavailable!(PlotArgs, plot, "plot");
unavailable!(ReportArgs, report, "report");
unavailable!(CompareArgs, compare, "compare");
