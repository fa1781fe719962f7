// grove — green threads for C++: stackful greenlets on one epoll hub per thread.
#pragma once

#include "errors.hpp"
#include "greenlet.hpp"
#include "io.hpp"
#include "time.hpp"
