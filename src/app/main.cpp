// tracer: wires the command line to the pieces, and is the one place that
// prints an error and chooses the exit status (1: runtime error, 2: usage).
#include <cstdio>
#include <string>

#include "tracer/app/options.hpp"
#include "tracer/app/run.hpp"
#include "tracer/audit/audit_log.hpp"
#include "tracer/core/escape.hpp"
#include "tracer/kernel/bpf_program.hpp"
#include "tracer/kernel/features.hpp"
#include "tracer/views/replay.hpp"
#include "tracer/views/tree_command.hpp"

namespace {

// An error names what the user gave (a value, a path, a file's content): no
// byte of it may act on the terminal or start a line of its own.
int exit_with(const tracer::Error& error) {
  switch (error.kind) {
    case tracer::ExitKind::answered: std::fputs(error.message.c_str(), stdout); return 0;
    case tracer::ExitKind::reader_gone: return 0;
    case tracer::ExitKind::usage:
    case tracer::ExitKind::runtime: break;
  }
  std::fprintf(stderr, "tracer: %s\n", tracer::terminal_safe(error.message).c_str());
  return error.kind == tracer::ExitKind::usage ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  tracer::Result<tracer::Options> options = tracer::parse_command_line(argc, argv);
  if (!options) return exit_with(options.error());
  tracer::route_libbpf_messages(options->verbose);

  switch (options->command) {
    case tracer::Command::check:
      std::fputs(tracer::describe_kernel_features(*options->user_functions).c_str(), stdout);
      return 0;
    case tracer::Command::list: std::fputs(tracer::describe_events(*options->user_functions).c_str(), stdout); return 0;
    case tracer::Command::verify: {
      tracer::Result<bool> verified =
          tracer::verify_audit_log({options->verify_path, options->verify_nats_export, options->audit_key_file,
                                    options->from_state, options->save_state, options->verify_stream});
      if (!verified) return exit_with(verified.error());
      return *verified ? 0 : 1;
    }
    case tracer::Command::replay:
      if (tracer::Status status = tracer::run_replay(*options); !status) return exit_with(status.error());
      return 0;
    case tracer::Command::tree:
      if (tracer::Status status = tracer::run_tree(*options); !status) return exit_with(status.error());
      return 0;
    case tracer::Command::trace: break;
  }
  if (tracer::Status status = tracer::run_trace(*options); !status) return exit_with(status.error());
  return 0;
}
