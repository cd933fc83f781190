/* stub: to be written */
#include "config.h"
typedef int roost_stub_storage_maildir_maildir_size_cache_c;
