// Runs a blocking C++ call with the GIL released while keeping Ctrl-C working: the call runs on a
// worker thread; the Python thread waits in short slices and checks for signals in between. A
// pending KeyboardInterrupt cancels the call (through its Cancellation), waits for it to end and
// is then raised.

#ifndef LLMKIT_BINDINGS_PYTHON_INTERRUPT_H_
#define LLMKIT_BINDINGS_PYTHON_INTERRUPT_H_

#include <pybind11/pybind11.h>

#include <chrono>
#include <future>
#include <memory>
#include <utility>

#include "llmkit/http.h"

namespace llmkit::python {

// `call(cancellation)` must stop soon after cancellation->Cancel().
template <typename Call>
auto RunInterruptible(Call call) -> decltype(call(std::shared_ptr<Cancellation>())) {
  auto cancellation = std::make_shared<Cancellation>();
  auto result = std::async(std::launch::async, [call = std::move(call), cancellation]() mutable {
    return call(cancellation);
  });
  while (true) {
    {
      pybind11::gil_scoped_release release;
      if (result.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready) break;
    }
    if (PyErr_CheckSignals() != 0) {
      cancellation->Cancel();
      {
        pybind11::gil_scoped_release release;
        result.wait();
      }
      throw pybind11::error_already_set();
    }
  }
  return result.get();
}

}  // namespace llmkit::python

#endif  // LLMKIT_BINDINGS_PYTHON_INTERRUPT_H_
