/* stub: to be written */
#include "config.h"
typedef int roost_stub_core_event_loop_c;
