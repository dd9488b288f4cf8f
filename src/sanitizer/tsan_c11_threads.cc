// Linked into every executable of the TSan build (CMR_BRIDGE_SANITIZE=thread) and nowhere else.
//
// Debian's librdkafka 2.0 runs its threads and locks through C11 <threads.h> (thrd_create,
// mtx_lock, cnd_wait, call_once), and glibc implements those by calling its pthread functions
// internally, past the symbols TSan intercepts; gcc 12's libtsan has no interceptors of its own
// for them. So TSan never learns that librdkafka's threads exist (their first malloc reads a null
// per-thread cache and crashes in TSan's allocator) nor that librdkafka's locks order anything
// (every hand-over between its threads looks like a race).
//
// These definitions in the executable take precedence over glibc's for librdkafka (the dynamic
// linker looks in the executable first; an unversioned definition satisfies its
// thrd_create@GLIBC_2.34 reference) and forward to the pthread functions TSan does intercept.
// glibc's own implementations are these same casts: mtx_t, cnd_t, once_flag and thrd_t are
// pthread_mutex_t, pthread_cond_t, pthread_once_t and pthread_t in layout.
#include <pthread.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <new>

#ifndef __SANITIZE_THREAD__
#error "tsan_c11_threads.cc belongs to the TSan build only"
#endif

namespace {

// The values of <threads.h>'s thrd_success .. thrd_timedout and mtx_recursive (glibc 2.36).
constexpr int kThrdSuccess = 0;
constexpr int kThrdBusy = 1;
constexpr int kThrdError = 2;
constexpr int kThrdNomem = 3;
constexpr int kThrdTimedout = 4;
constexpr int kMtxRecursive = 1;

int thrd_result(int pthread_error) {
  switch (pthread_error) {
    case 0:
      return kThrdSuccess;
    case EBUSY:
      return kThrdBusy;
    case ENOMEM:
      return kThrdNomem;
    case ETIMEDOUT:
      return kThrdTimedout;
    default:
      return kThrdError;
  }
}

// A C11 start function returns int, a pthread one void*: the new thread owns this and frees it
// before it runs `start`.
struct C11Start {
  int (*start)(void*);
  void* argument;
};

void* run_c11_start(void* opaque) {
  const C11Start call = *static_cast<C11Start*>(opaque);
  delete static_cast<C11Start*>(opaque);
  return reinterpret_cast<void*>(static_cast<intptr_t>(call.start(call.argument)));
}

}  // namespace

extern "C" {

int thrd_create(pthread_t* thread, int (*start)(void*), void* argument) {
  auto* call = new (std::nothrow) C11Start{start, argument};
  if (call == nullptr)
    return kThrdNomem;
  const int error = pthread_create(thread, nullptr, run_c11_start, call);
  if (error != 0)
    delete call;
  return thrd_result(error);
}

int thrd_join(pthread_t thread, int* result) {
  void* value = nullptr;
  if (pthread_join(thread, &value) != 0)
    return kThrdError;
  if (result != nullptr)
    *result = static_cast<int>(reinterpret_cast<intptr_t>(value));
  return kThrdSuccess;
}

int mtx_init(pthread_mutex_t* mutex, int type) {
  pthread_mutexattr_t attributes;
  pthread_mutexattr_init(&attributes);
  if ((type & kMtxRecursive) != 0)
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
  const int error = pthread_mutex_init(mutex, &attributes);
  pthread_mutexattr_destroy(&attributes);
  return thrd_result(error);
}

int mtx_lock(pthread_mutex_t* mutex) {
  return thrd_result(pthread_mutex_lock(mutex));
}
int mtx_trylock(pthread_mutex_t* mutex) {
  return thrd_result(pthread_mutex_trylock(mutex));
}
int mtx_unlock(pthread_mutex_t* mutex) {
  return thrd_result(pthread_mutex_unlock(mutex));
}
void mtx_destroy(pthread_mutex_t* mutex) {
  pthread_mutex_destroy(mutex);
}

int cnd_init(pthread_cond_t* condition) {
  return thrd_result(pthread_cond_init(condition, nullptr));
}
int cnd_signal(pthread_cond_t* condition) {
  return thrd_result(pthread_cond_signal(condition));
}
int cnd_broadcast(pthread_cond_t* condition) {
  return thrd_result(pthread_cond_broadcast(condition));
}
int cnd_wait(pthread_cond_t* condition, pthread_mutex_t* mutex) {
  return thrd_result(pthread_cond_wait(condition, mutex));
}
int cnd_timedwait(pthread_cond_t* condition, pthread_mutex_t* mutex, const timespec* deadline) {
  return thrd_result(pthread_cond_timedwait(condition, mutex, deadline));
}
void cnd_destroy(pthread_cond_t* condition) {
  pthread_cond_destroy(condition);
}

void call_once(pthread_once_t* flag, void (*function)()) {
  pthread_once(flag, function);
}

}  // extern "C"
