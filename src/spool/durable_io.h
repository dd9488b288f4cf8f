// File-system calls the spool and the quarantine make durable with: whole writes and directory
// fsyncs. Blocking; called on whichever thread appends or quarantines.
#pragma once

#include <string>
#include <string_view>

namespace cmr_bridge {

// Writes all of `data` to `fd`, retrying on EINTR and short writes. False on any other failure
// (errno says which); part of `data` may have been written then.
bool write_all(int fd, std::string_view data);

// fsync of the directory itself, so that the names created or removed in it are durable.
bool fsync_directory(const std::string& dir);

}  // namespace cmr_bridge
