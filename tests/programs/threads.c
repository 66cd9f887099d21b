/* threads T N shared|own inorder|ooo: T threads x N launches, on one shared
 * queue or one queue per thread, in-order or out-of-order. */
#include <pthread.h>
#include "common.h"

static tp_env t;
static cl_command_queue shared_q;
static int n_launch, own_queue;
static cl_command_queue_properties qprops;

static void *worker(void *arg)
{
    size_t global = 256;
    cl_mem buf;
    cl_kernel k = tp_kernel(&t, &buf, global);
    cl_command_queue q = own_queue ? tp_queue(&t, qprops) : shared_q;
    for (int i = 0; i < n_launch; i++)
        CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
    if (own_queue) {
        CHECK(clFinish(q));
        clReleaseCommandQueue(q);
    }
    return arg;
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 8;
    n_launch = argc > 2 ? atoi(argv[2]) : 100;
    own_queue = argc > 3 && !strcmp(argv[3], "own");
    qprops = argc > 4 && !strcmp(argv[4], "ooo") ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0;
    pthread_t th[256];
    if (nt > 256)
        nt = 256;
    tp_setup(&t);
    if (!own_queue)
        shared_q = tp_queue(&t, qprops);
    for (int i = 0; i < nt; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    if (!own_queue)
        CHECK(clFinish(shared_q));
    printf("expected launches=%d times=%d threads=%d queues=%d\n", nt * n_launch, nt * n_launch, nt,
           own_queue ? nt : 1);
    return 0;
}
