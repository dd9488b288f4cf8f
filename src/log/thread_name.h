// Names the calling thread (as `top -H`, `ps -L`, perf's comm column and /proc/<pid>/task/*/comm
// show it), so an operator can tell which of the bridge's threads burns CPU or sleeps, and the
// benchmark can count context switches per thread role. Linux keeps 15 characters; longer names
// are cut, never refused. Best effort: a failure changes nothing but the name.
#pragma once

#include <pthread.h>

#include <string>

namespace cmr_bridge {

inline void name_this_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace cmr_bridge
