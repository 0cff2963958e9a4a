#define _GNU_SOURCE
#include "mosquitto_read_buffer.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__x86_64__)
#define JUMP_SLOT R_X86_64_JUMP_SLOT
#define GLOB_DAT R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define JUMP_SLOT R_AARCH64_JUMP_SLOT
#define GLOB_DAT R_AARCH64_GLOB_DAT
#endif

/* One socket read's worth: a cloud read under load holds many status messages. */
#define CHUNK 65536

/* What a socket read left over after the call that made it: freed once served. Only the thread
 * that reads a descriptor touches its entry (libmosquitto reads and closes a connection's socket
 * from the loop that drives it); the table entries are atomic so that a close elsewhere is safe. */
struct leftover {
    size_t offset, length;
    unsigned char bytes[];
};

static _Atomic(struct leftover *) *table; /* indexed by descriptor */
static size_t table_size;
static atomic_ulong calls, syscalls;
static pthread_key_t chunk_key;

static unsigned char *chunk_buffer(void) {
    unsigned char *chunk = pthread_getspecific(chunk_key);
    if (!chunk) {
        chunk = malloc(CHUNK);
        if (chunk) pthread_setspecific(chunk_key, chunk);
    }
    return chunk;
}

static void drop(int fd) {
    if (fd < 0 || (size_t)fd >= table_size) return;
    free(atomic_exchange_explicit(&table[fd], NULL, memory_order_acq_rel));
}

ssize_t prepull_mosquitto_buffered_read(int fd, void *into, size_t count) {
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    if (fd < 0 || (size_t)fd >= table_size || count == 0) {
        atomic_fetch_add_explicit(&syscalls, 1, memory_order_relaxed);
        return read(fd, into, count);
    }
    struct leftover *left = atomic_load_explicit(&table[fd], memory_order_acquire);
    if (left) {
        size_t n = left->length - left->offset;
        if (n > count) n = count;
        memcpy(into, left->bytes + left->offset, n);
        left->offset += n;
        if (left->offset == left->length) drop(fd);
        return (ssize_t)n;
    }
    atomic_fetch_add_explicit(&syscalls, 1, memory_order_relaxed);
    unsigned char *chunk = count < CHUNK ? chunk_buffer() : NULL;
    if (!chunk) return read(fd, into, count);
    ssize_t got = read(fd, chunk, CHUNK);
    if (got <= 0) return got; /* errno as read(2) left it: libmosquitto tests it for EAGAIN */
    size_t n = (size_t)got < count ? (size_t)got : count;
    memcpy(into, chunk, n);
    if ((size_t)got > n) {
        size_t rest = (size_t)got - n;
        struct leftover *keep = malloc(sizeof *keep + rest);
        if (!keep) {
            /* Nowhere to keep the rest: the bytes are gone, so the stream is; tell libmosquitto
             * the connection failed rather than hand it a corrupt one. */
            errno = ENOMEM;
            return -1;
        }
        keep->offset = 0;
        keep->length = rest;
        memcpy(keep->bytes, chunk + n, rest);
        atomic_store_explicit(&table[fd], keep, memory_order_release);
    }
    return (ssize_t)n;
}

int prepull_mosquitto_buffered_close(int fd) {
    drop(fd);
    return close(fd);
}

int prepull_mosquitto_read_pending(int fd) {
    if (fd < 0 || (size_t)fd >= table_size) return 0;
    return atomic_load_explicit(&table[fd], memory_order_acquire) != NULL;
}

void prepull_mosquitto_read_discard(int fd) { drop(fd); }

unsigned long prepull_mosquitto_read_calls(void) { return atomic_load(&calls); }
unsigned long prepull_mosquitto_read_syscalls(void) { return atomic_load(&syscalls); }

#if defined(JUMP_SLOT)
struct patch {
    int patched; /* libmosquitto's read import now points here */
};

/* Stores `function` into a GOT slot, lifting RELRO's read-only mapping for the write when the
 * slot lies in it (objects linked with -z now). */
static int store_slot(void **slot, void *function, uintptr_t relro_start, uintptr_t relro_end) {
    uintptr_t address = (uintptr_t)slot;
    int protected = address >= relro_start && address < relro_end;
    uintptr_t page = address & ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
    size_t length = (size_t)sysconf(_SC_PAGESIZE) * 2; /* a slot may straddle a page boundary */
    if (protected && mprotect((void *)page, length, PROT_READ | PROT_WRITE) != 0) return 0;
    __atomic_store_n(slot, function, __ATOMIC_RELEASE);
    if (protected) mprotect((void *)page, length, PROT_READ);
    return 1;
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct patch *patch = data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "/libmosquitto.so")) return 0;
    uintptr_t base = info->dlpi_addr, relro_start = 0, relro_end = 0;
    const ElfW(Dyn) *dynamic = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC) dynamic = (const ElfW(Dyn) *)(base + ph->p_vaddr);
        if (ph->p_type == PT_GNU_RELRO) {
            relro_start = base + ph->p_vaddr;
            relro_end = relro_start + ph->p_memsz;
        }
    }
    if (!dynamic) return 1;
    const ElfW(Sym) *symbols = NULL;
    const char *strings = NULL;
    const ElfW(Rela) *tables[2] = {NULL, NULL};
    size_t sizes[2] = {0, 0};
    int rela = 1;
    /* glibc relocates these entries of a loaded object's dynamic section in place; an address
     * below the load base is still the link-time one. */
#define ADDRESS(d) ((uintptr_t)(d)->d_un.d_ptr < base ? base + (d)->d_un.d_ptr : (uintptr_t)(d)->d_un.d_ptr)
    for (const ElfW(Dyn) *d = dynamic; d->d_tag != DT_NULL; d++) {
        switch (d->d_tag) {
        case DT_SYMTAB: symbols = (const ElfW(Sym) *)ADDRESS(d); break;
        case DT_STRTAB: strings = (const char *)ADDRESS(d); break;
        case DT_JMPREL: tables[0] = (const ElfW(Rela) *)ADDRESS(d); break;
        case DT_PLTRELSZ: sizes[0] = d->d_un.d_val; break;
        case DT_RELA: tables[1] = (const ElfW(Rela) *)ADDRESS(d); break;
        case DT_RELASZ: sizes[1] = d->d_un.d_val; break;
        case DT_PLTREL: rela = d->d_un.d_val == DT_RELA; break;
        }
    }
#undef ADDRESS
    if (!symbols || !strings || !rela) return 1;
    for (int t = 0; t < 2; t++) {
        if (!tables[t]) continue;
        size_t count = sizes[t] / sizeof(ElfW(Rela));
        for (size_t i = 0; i < count; i++) {
            const ElfW(Rela) *r = &tables[t][i];
            unsigned long type = ELF64_R_TYPE(r->r_info);
            if (type != JUMP_SLOT && type != GLOB_DAT) continue;
            const char *name = strings + symbols[ELF64_R_SYM(r->r_info)].st_name;
            void *function = strcmp(name, "read") == 0 ? (void *)prepull_mosquitto_buffered_read
                           : strcmp(name, "close") == 0 ? (void *)prepull_mosquitto_buffered_close : NULL;
            if (!function) continue;
            if (!store_slot((void **)(base + r->r_offset), function, relro_start, relro_end)) continue;
            if (function == (void *)prepull_mosquitto_buffered_read) patch->patched = 1;
        }
    }
    return 1;
}
#endif

static int installed;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void install(void) {
    /* Descriptors up to the hard open-files limit (the fleet raises the soft one to it), at most
     * 2^20: the table is mapped lazily, so its untouched pages cost nothing. */
    struct rlimit limit;
    size_t size = 1u << 20;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max != RLIM_INFINITY && limit.rlim_max < size)
        size = limit.rlim_max;
    if (pthread_key_create(&chunk_key, free) != 0) return;
    table = calloc(size, sizeof *table);
    if (!table) return;
    table_size = size;
    /* The buffered functions work without the patch (tests call them); only libmosquitto is not
     * pointed at them. */
    const char *setting = getenv("PREPULL_MQTT_READ_BUFFER");
    if (setting && strcmp(setting, "0") == 0) {
        installed = -1;
        return;
    }
#if defined(JUMP_SLOT)
    struct patch patch = {0};
    dl_iterate_phdr(patch_object, &patch);
    installed = patch.patched;
#endif
}

int prepull_mosquitto_read_buffer_install(void) {
    pthread_once(&once, install);
    return installed;
}
