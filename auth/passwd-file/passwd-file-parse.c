/* stub: to be written */
#include "config.h"
typedef int roost_stub_auth_passwd_file_passwd_file_parse_c;
