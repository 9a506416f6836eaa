#include "tracer/user_functions/bash_watcher.hpp"

#include <cstdio>
#include <optional>
#include <string>

#include "tracer/kernel/features.hpp"
#include "tracer/user_functions/resolve.hpp"

namespace tracer {

void BashWatcher::on_new_executable(const tracer_executable_record& record) {
  std::string path;
  const ExecutableId id{record.inode, record.dev};
  std::optional<ResolvedUserFunction> target = bash_readline_of_process(record.header.task.tgid, id, slot_, path);
  if (!target) return;
  // Allowed before the probes attach: no call of theirs waits for a verdict.
  for (const ExecutableId& executable : target->executables) bpf_.judge_executable(slot_, executable, true);
  for (const AttachOutcome& outcome : bpf_.attach_user_function(*target))
    if (!outcome.attached)
      std::fprintf(stderr, "tracer: bash_readline: %s could not be attached (%s)\n", outcome.hook.c_str(),
                   outcome.error.c_str());
  std::fprintf(stderr, "tracer: bash_readline: %s is a bash too (pid %u): its readline is probed from now on\n",
               path.c_str(), record.header.task.tgid);
  if (verbose_)
    std::fprintf(stderr, "tracer: bash_readline: probed %.1f ms after its first exec\n",
                 double(boot_clock_now_ns() - record.header.boot_ns) / 1e6);
}

bool BashWatcher::admit_unverified(const Event& event) {
  const ExecutableId id{event.unverified_executable->inode, event.unverified_executable->kernel_dev};
  std::string path;
  const bool bash = bash_readline_of_process(event.task.pid, id, slot_, path).has_value();
  bpf_.judge_executable(slot_, id, bash);
  return bash;
}

}  // namespace tracer
