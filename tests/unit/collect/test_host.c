/* SPDX-License-Identifier: MIT */
/* The host collector over fixture trees (fixtures/host/): good/ against good.prom, the
 * output of Debian's node_exporter 1.5.0 over the same tree (every series, label and
 * value); bad/ (cut-short files, garbage numbers, duplicates, missing files), where
 * what parses is kept and each damaged source shows node_scrape_collector_success 0;
 * a procfs that does not exist (the target is down); the cpu counters that never move
 * backwards; the default device and mount filters; and a statfs that hangs, which must
 * cost a collection nothing and show as device_error 1 until it returns. */
#include "collect/host_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "collect/kinds.h"
#include "collect/snap.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "metrics/expo.h"
#include "tg_test.h"

static char fixtures[200];

static void find_fixtures(void)
{
    snprintf(fixtures, sizeof fixtures, "%s", __FILE__);
    char *slash = strrchr(fixtures, '/');
    snprintf(slash ? slash + 1 : fixtures,
             sizeof fixtures - (slash ? (size_t)(slash + 1 - fixtures) : 0), "fixtures/host");
}

/* ---- a fake statfs: fixed figures, and a mount point that can be made to hang ---- */

static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cv = PTHREAD_COND_INITIALIZER;
static bool hang_on; /* calls for /srv/nfs block while this is set */
static int hang_calls;

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int fake_statfs(const char *path, struct statfs *st)
{
    if (ends_with(path, "/srv/nfs")) {
        pthread_mutex_lock(&hang_mu);
        hang_calls++;
        while (hang_on)
            pthread_cond_wait(&hang_cv, &hang_mu);
        pthread_mutex_unlock(&hang_mu);
    }
    memset(st, 0, sizeof *st);
    st->f_bsize = 4096;
    st->f_blocks = ends_with(path, "/data") ? 2000 : 1000;
    st->f_bfree = 600;
    st->f_bavail = 500;
    st->f_files = 100;
    st->f_ffree = 40;
    return 0;
}

static void set_hang(bool on)
{
    pthread_mutex_lock(&hang_mu);
    hang_on = on;
    pthread_cond_broadcast(&hang_cv);
    pthread_mutex_unlock(&hang_mu);
}

/* ---- running a collection ------------------------------------------------------- */

struct outcome {
    int calls, rc;
    char why[256];
};

static void on_done(void *arg, int rc, const char *why)
{
    struct outcome *o = arg;
    o->calls++;
    o->rc = rc;
    snprintf(o->why, sizeof o->why, "%s", why ? why : "");
}

static int make(struct tg_ctarget *t, const char *tree, int64_t statfs_timeout_us)
{
    struct tg_cfg_host cfg = {.enabled = true};
    snprintf(cfg.procfs, sizeof cfg.procfs, "%s/%s/proc", fixtures, tree);
    snprintf(cfg.rootfs, sizeof cfg.rootfs, "%s/%s/root", fixtures, tree);
    snprintf(cfg.sysfs, sizeof cfg.sysfs, "/sys");
    struct tg_errbuf eb = {0};
    int rc = tg_chost_make(NULL, &cfg, NULL, t, &eb);
    if (rc == 0 && statfs_timeout_us)
        rc = tg_chost__set_statfs(t, fake_statfs, statfs_timeout_us);
    return rc;
}

static struct outcome collect(struct tg_ctarget *t, struct tg_csnap *s)
{
    struct outcome o = {0};
    tg_csnap_reset(s);
    t->ops->start(t->impl, s, on_done, &o);
    TG_EXPECT_EQ(o.calls, 1); /* synchronous: done before start returns */
    return o;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits (at most 5 s) for the statfs worker's first pass. */
static bool wait_ready(struct tg_ctarget *t)
{
    for (int i = 0; i < 500; i++) {
        if (tg_chost__fs_ready(tg_chost__fs_of(t)))
            return true;
        sleep_ms(10);
    }
    return false;
}

static char *render(struct tg_csnap *s)
{
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mcursor cur = {0};
    TG_EXPECT_EQ(tg_csnap_collect(s, &v, &cur), TG_DONE);
    TG_EXPECT(!e.oom && !e.bad);
    char *text = calloc(1, e.len + 1);
    if (e.len)
        memcpy(text, e.p, e.len);
    tg_expo_deinit(&e);
    return text;
}

static bool success(struct tg_csnap *s, const char *collector)
{
    double v = -1;
    TG_EXPECT(tg_csnap_get(s, &v, "node_scrape_collector_success", "collector", collector, NULL));
    return v == 1;
}

/* ---- comparing with node_exporter's own output -------------------------------------- */

struct sample {
    char series[512];
    double v;
};

/* Families node_exporter's run cannot match: the clock, the kernel, timings, sizes. */
static bool compared(const char *line)
{
    static const char *const skip[] = {
        "node_time_seconds ",
        "node_uname_info{",
        "node_scrape_collector_duration_seconds{",
        "node_filesystem_avail_bytes{",
        "node_filesystem_free_bytes{",
        "node_filesystem_size_bytes{",
        "node_filesystem_files{",
        "node_filesystem_files_free{",
    };
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (strncmp(line, skip[i], strlen(skip[i])) == 0)
            return false;
    return line[0] && line[0] != '#';
}

static size_t samples(const char *text, struct sample *out, size_t max)
{
    size_t n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[512];
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = '\0';
            char *sp = strrchr(line, ' ');
            if (compared(line) && sp && n < max) {
                *sp = '\0';
                snprintf(out[n].series, sizeof out[n].series, "%s", line);
                out[n].v = strtod(sp + 1, NULL);
                n++;
            }
        }
        p += len + (nl != NULL);
    }
    return n;
}

static int by_series(const void *a, const void *b)
{
    return strcmp(((const struct sample *)a)->series, ((const struct sample *)b)->series);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return calloc(1, 1);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

#define MAXS 400

static void test_same_as_node_exporter(void)
{
    struct tg_ctarget t;
    TG_EXPECT_EQ(make(&t, "good", 5000000), 0);
    TG_EXPECT(wait_ready(&t));
    struct tg_csnap *s = tg_csnap_new();
    struct outcome o = collect(&t, s);
    TG_EXPECT_EQ(o.rc, 0);
    char *ours = render(s);
    if (getenv("TG_TEST_DUMP"))
        fputs(ours, stderr);

    char path[600];
    snprintf(path, sizeof path, "%s/good.prom", fixtures);
    char *theirs = slurp(path);
    static struct sample a[MAXS], b[MAXS];
    size_t na = samples(ours, a, MAXS), nb = samples(theirs, b, MAXS);
    qsort(a, na, sizeof *a, by_series);
    qsort(b, nb, sizeof *b, by_series);
    TG_EXPECT_GT(nb, 100);
    TG_EXPECT_EQ(na, nb);
    for (size_t i = 0, j = 0; i < na || j < nb;) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].series, b[j].series);
        if (c < 0)
            TG_EXPECT_STREQ(a[i++].series, "(not in node_exporter's output)");
        else if (c > 0)
            TG_EXPECT_STREQ("(not in ours)", b[j++].series);
        else {
            if (a[i].v != b[j].v)
                TG_EXPECT_STREQ(a[i].series, "(a different value)");
            i++, j++;
        }
    }

    /* The sizes, from the fake statfs: blocks times the block size. */
    double v = 0;
    TG_EXPECT(tg_csnap_get(s, &v, "node_filesystem_size_bytes", "mountpoint", "/data", NULL));
    TG_EXPECT_EQ((long long)v, 2000 * 4096);
    TG_EXPECT(tg_csnap_get(s, &v, "node_filesystem_avail_bytes", "mountpoint", "/srv/my disk",
                           "device", "/dev/vde", "fstype", "ext4", NULL));
    TG_EXPECT_EQ((long long)v, 500 * 4096);
    TG_EXPECT(tg_csnap_get(s, &v, "node_filesystem_free_bytes", "mountpoint", "/", NULL));
    TG_EXPECT_EQ((long long)v, 600 * 4096);
    TG_EXPECT(tg_csnap_get(s, &v, "node_filesystem_files_free", "mountpoint", "/", NULL));
    TG_EXPECT_EQ((long long)v, 40);

    /* The two families from system calls. */
    struct utsname u;
    uname(&u);
    TG_EXPECT(
        tg_csnap_get(s, &v, "node_uname_info", "nodename", u.nodename, "release", u.release, NULL));
    TG_EXPECT(tg_csnap_get(s, &v, "node_time_seconds", NULL));
    TG_EXPECT_LT(fabs(v - (double)time(NULL)), 5);
    free(ours);
    free(theirs);
    tg_csnap_free(s);
    t.ops->free(t.impl);
}

static void test_damaged_files(void)
{
    struct tg_ctarget t;
    TG_EXPECT_EQ(make(&t, "bad", 5000000), 0);
    TG_EXPECT(wait_ready(&t));
    struct tg_csnap *s = tg_csnap_new();
    struct outcome o = collect(&t, s);
    TG_EXPECT_EQ(o.rc, 0); /* partly damaged is not down */
    double v = 0;

    /* cpu1 has a garbage number, cpu2 too few: cpu0 stays. */
    TG_EXPECT(tg_csnap_get(s, &v, "node_cpu_seconds_total", "cpu", "0", "mode", "user", NULL));
    TG_EXPECT(v == 11594.65);
    TG_EXPECT(!tg_csnap_get(s, &v, "node_cpu_seconds_total", "cpu", "1", NULL));
    TG_EXPECT(!tg_csnap_get(s, &v, "node_cpu_seconds_total", "cpu", "2", NULL));
    TG_EXPECT(!success(s, "cpu"));
    /* Cut short after btime: what came is kept, the missing lines fail "stat". */
    TG_EXPECT(tg_csnap_get(s, &v, "node_context_switches_total", NULL));
    TG_EXPECT_EQ((long long)v, 236510638);
    TG_EXPECT(!tg_csnap_get(s, &v, "node_forks_total", NULL));
    TG_EXPECT(!success(s, "stat"));
    /* A negative number, a line without its colon, a name no metric can have, a
     * repeated key (the first stays). */
    TG_EXPECT(tg_csnap_get(s, &v, "node_memory_MemTotal_bytes", NULL));
    TG_EXPECT_EQ((long long)v, 24683620LL * 1024);
    TG_EXPECT(tg_csnap_get(s, &v, "node_memory_Cached_bytes", NULL));
    TG_EXPECT(tg_csnap_get(s, &v, "node_memory_Weird_namex_bytes", NULL));
    TG_EXPECT(!tg_csnap_get(s, &v, "node_memory_MemFree_bytes", NULL));
    TG_EXPECT(!success(s, "meminfo"));
    TG_EXPECT(tg_csnap_get(s, &v, "node_vmstat_pgfault", NULL));
    TG_EXPECT(!tg_csnap_get(s, &v, "node_vmstat_pswpin", NULL));
    TG_EXPECT(!success(s, "vmstat"));
    /* Missing files. */
    TG_EXPECT(!tg_csnap_get(s, &v, "node_load1", NULL));
    TG_EXPECT(!success(s, "loadavg"));
    TG_EXPECT(!success(s, "pressure"));
    TG_EXPECT(!tg_csnap_get(s, &v, "node_filefd_allocated", NULL));
    TG_EXPECT(!success(s, "filefd"));
    /* Short and garbage device lines; a repeated device keeps its first line. */
    TG_EXPECT(tg_csnap_get(s, &v, "node_disk_reads_completed_total", "device", "vda", NULL));
    TG_EXPECT_EQ((long long)v, 2002308);
    TG_EXPECT(!tg_csnap_get(s, &v, "node_disk_reads_completed_total", "device", "vdb", NULL));
    TG_EXPECT(!tg_csnap_get(s, &v, "node_disk_reads_completed_total", "device", "vdc", NULL));
    TG_EXPECT(!success(s, "diskstats"));
    TG_EXPECT(tg_csnap_get(s, &v, "node_network_transmit_carrier_total", "device", "eth0", NULL));
    TG_EXPECT_EQ((long long)v, 11);
    TG_EXPECT(!tg_csnap_get(s, &v, "node_network_receive_bytes_total", "device", "eth1", NULL));
    TG_EXPECT(!tg_csnap_get(s, &v, "node_network_receive_bytes_total", "device", "eth2", NULL));
    TG_EXPECT(!success(s, "netdev"));
    TG_EXPECT(tg_csnap_get(s, &v, "node_filesystem_size_bytes", "mountpoint", "/", NULL));
    TG_EXPECT(!success(s, "filesystem"));
    TG_EXPECT(success(s, "time"));
    TG_EXPECT(success(s, "uname"));
    tg_csnap_free(s);
    t.ops->free(t.impl);
}

static void test_no_procfs(void)
{
    struct tg_ctarget t;
    TG_EXPECT_EQ(make(&t, "nonexistent", 0), 0);
    struct tg_csnap *s = tg_csnap_new();
    struct outcome o = collect(&t, s);
    TG_EXPECT_EQ(o.rc, -ENOENT);
    TG_EXPECT(strstr(o.why, "nonexistent/proc/stat") != NULL);
    TG_EXPECT_EQ(tg_csnap_nseries(s), 0);
    tg_csnap_free(s);
    t.ops->free(t.impl);
}

static double cpu_value(struct tg_csnap *s, const char *mode)
{
    double v = -1;
    TG_EXPECT(tg_csnap_get(s, &v, "node_cpu_seconds_total", "cpu", "0", "mode", mode, NULL));
    return v;
}

static void test_cpu_never_backwards(void)
{
    struct tg_chost__cpu clamp = {0};
    static struct tg_chost__seen seen;
    struct tg_csnap *s = tg_csnap_new();
    int sb;
    const char *a = "cpu0 100 0 50 100000 70 0 0 0 0 0\n";
    const char *b = "cpu0 110 0 55 100050 60 0 0 0 0 0\n"; /* iowait went back */
    const char *c = "cpu0 120 0 60 100 80 0 0 0 0 0\n";    /* idle back by 999 s: hotplug */
    TG_EXPECT_EQ(tg_chost__parse_stat(a, strlen(a), s, &clamp, 100, &seen, &sb), 0);
    TG_EXPECT(cpu_value(s, "iowait") == 0.7);
    tg_csnap_reset(s);
    TG_EXPECT_EQ(tg_chost__parse_stat(b, strlen(b), s, &clamp, 100, &seen, &sb), 0);
    TG_EXPECT(cpu_value(s, "iowait") == 0.7);
    TG_EXPECT(cpu_value(s, "idle") == 1000.5);
    tg_csnap_reset(s);
    TG_EXPECT_EQ(tg_chost__parse_stat(c, strlen(c), s, &clamp, 100, &seen, &sb), 0);
    TG_EXPECT(cpu_value(s, "idle") == 1.0);
    TG_EXPECT(cpu_value(s, "iowait") == 0.8);
    /* Without the state each reading is shown as it is. */
    tg_csnap_reset(s);
    TG_EXPECT_EQ(tg_chost__parse_stat(b, strlen(b), s, NULL, 100, &seen, &sb), 0);
    TG_EXPECT(cpu_value(s, "iowait") == 0.6);
    tg_chost__cpu_deinit(&clamp);
    tg_csnap_free(s);
}

static void test_filters(void)
{
    static const char *const disk_out[] = {"sda1",  "vda12", "xvdb3",     "hdc1",       "loop0",
                                           "ram15", "fd0",   "nvme0n1p1", "nvme12n3p45"};
    static const char *const disk_in[] = {"sda", "vda",   "xvdb",    "sdaa1", "nvme0n1", "dm-0",
                                          "md0", "zram0", "mmcblk0", "loop",  "nvme0n1p"};
    for (size_t i = 0; i < sizeof disk_out / sizeof *disk_out; i++)
        TG_EXPECT(tg_chost__disk_ignored(disk_out[i]));
    for (size_t i = 0; i < sizeof disk_in / sizeof *disk_in; i++)
        TG_EXPECT(!tg_chost__disk_ignored(disk_in[i]));
    TG_EXPECT(tg_chost__netdev_ignored("lo"));
    TG_EXPECT(!tg_chost__netdev_ignored("lo0"));
    static const char *const mp_out[] = {"/dev",
                                         "/dev/shm",
                                         "/proc",
                                         "/run/user/1000",
                                         "/sys",
                                         "/mnt/usb",
                                         "/media",
                                         "/var/lib/docker/overlay2/x",
                                         "/var/lib/containers/storage/y"};
    static const char *const mp_in[] = {
        "/", "/running", "/devices", "/var/lib/docker", "/var/lib/docker/", "/home", "/srv/mnt"};
    for (size_t i = 0; i < sizeof mp_out / sizeof *mp_out; i++)
        TG_EXPECT(tg_chost__mountpoint_ignored(mp_out[i]));
    for (size_t i = 0; i < sizeof mp_in / sizeof *mp_in; i++)
        TG_EXPECT(!tg_chost__mountpoint_ignored(mp_in[i]));
    TG_EXPECT(tg_chost__fstype_ignored("cgroup2"));
    TG_EXPECT(tg_chost__fstype_ignored("overlay"));
    TG_EXPECT(!tg_chost__fstype_ignored("ext4"));
    TG_EXPECT(!tg_chost__fstype_ignored("nfs4"));
    TG_EXPECT(!tg_chost__fstype_ignored("tmpfs"));
}

static double nfs_error(struct tg_csnap *s, bool *found)
{
    double v = -1;
    *found = tg_csnap_get(s, &v, "node_filesystem_device_error", "mountpoint", "/srv/nfs", NULL);
    return v;
}

/* A mount that hangs (the fake statfs blocks on /srv/nfs): collections stay quick, the
 * mount shows device_error 1 once the 200 ms timeout passes while the others keep
 * being measured by a new thread, and it comes back when the call returns. */
static void test_hung_mount(void)
{
    set_hang(true);
    pthread_mutex_lock(&hang_mu);
    int calls0 = hang_calls;
    pthread_mutex_unlock(&hang_mu);
    struct tg_ctarget t;
    TG_EXPECT_EQ(make(&t, "good", 200000), 0);
    struct tg_csnap *s = tg_csnap_new();
    int64_t worst = 0;
    bool stuck = false, others = false, found;
    for (int i = 0; i < 100 && !(stuck && others); i++) {
        sleep_ms(50);
        int64_t t0 = tg_clock_mono_us();
        struct outcome o = collect(&t, s);
        int64_t took = tg_clock_mono_us() - t0;
        worst = took > worst ? took : worst;
        TG_EXPECT_EQ(o.rc, 0);
        double v = 0;
        stuck = nfs_error(s, &found) == 1 && found;
        others = tg_csnap_get(s, &v, "node_filesystem_size_bytes", "mountpoint", "/data", NULL);
    }
    TG_EXPECT(stuck);
    TG_EXPECT(others);
    /* The hang shows in device_error; the collector itself succeeded, as in
     * node_exporter. */
    TG_EXPECT(success(s, "filesystem"));
    TG_EXPECT_LT(worst, 1000000); /* never waited for the hung call (it lasts until released) */
    pthread_mutex_lock(&hang_mu);
    int calls_while_stuck = hang_calls - calls0;
    pthread_mutex_unlock(&hang_mu);
    TG_EXPECT_EQ(calls_while_stuck, 1); /* the new thread skips the stuck mount */

    set_hang(false);
    bool back = false;
    for (int i = 0; i < 100 && !back; i++) {
        sleep_ms(50);
        collect(&t, s);
        back = nfs_error(s, &found) == 0 && found;
    }
    TG_EXPECT(back);
    tg_csnap_free(s);
    t.ops->free(t.impl);
}

/* Freeing a target whose thread is stuck returns at once; the thread cleans up after
 * itself when its call returns. */
static void test_free_while_stuck(void)
{
    set_hang(true);
    struct tg_ctarget t;
    TG_EXPECT_EQ(make(&t, "good", 200000), 0);
    int calls0;
    pthread_mutex_lock(&hang_mu);
    calls0 = hang_calls;
    pthread_mutex_unlock(&hang_mu);
    for (int i = 0; i < 200; i++) { /* until the thread is inside the hung call */
        pthread_mutex_lock(&hang_mu);
        bool in = hang_calls > calls0;
        pthread_mutex_unlock(&hang_mu);
        if (in)
            break;
        sleep_ms(10);
    }
    int64_t t0 = tg_clock_mono_us();
    t.ops->free(t.impl);
    TG_EXPECT_LT(tg_clock_mono_us() - t0, 1000000);
    set_hang(false);
    sleep_ms(100); /* let it finish, so a leak checker sees it gone */
}

int main(int argc, char **argv)
{
    (void)argc;
    find_fixtures();
    test_same_as_node_exporter();
    test_damaged_files();
    test_no_procfs();
    test_cpu_never_backwards();
    test_filters();
    test_hung_mount();
    test_free_while_stuck();
    return tg_test_report(argv[0]);
}
