/* stub: to be written */
#include "config.h"
typedef int roost_stub_auth_auth_fields_c;
