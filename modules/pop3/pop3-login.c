/* stub: to be written */
#include "config.h"
typedef int roost_stub_modules_pop3_pop3_login_c;
