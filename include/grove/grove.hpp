// grove — green threads for C++: stackful greenlets on one epoll hub per thread.
#pragma once

#include "async_result.hpp"
#include "condvar.hpp"
#include "dns.hpp"
#include "errors.hpp"
#include "event.hpp"
#include "greenlet.hpp"
#include "interposer.hpp"
#include "io.hpp"
#include "local.hpp"
#include "mutex.hpp"
#include "offload.hpp"
#include "pool.hpp"
#include "queue.hpp"
#include "semaphore.hpp"
#include "time.hpp"
#include "wait_group.hpp"
