/* stub: to be written */
#include "config.h"
#include "module.h"
ROOST_MODULE(.kind = MODULE_KIND_AUTH, .name = "passwd-file");
