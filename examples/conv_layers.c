/*
 * conv_layers.c: conv layers of the networks profiled by Radu et al. (IISWC 2019).
 *
 * Numbering: L1, L2, ... count the convolution layers of each network in execution
 * order, starting at 1 with the first convolution.
 *   - ResNet-50 (v1, He et al. 2015, stride 2 in the first 1x1 of stages 3-5, as
 *     in the original Caffe model): the 49 convolutions of the canonical "50 layers"
 *     (49 conv + fc). The 4 projection shortcuts are not part of that count; they
 *     are listed as resnet50.P2 .. resnet50.P5 (stage number).
 *       L1 conv1 | L2-L10 conv2_x (56x56) | L11-L22 conv3_x (28x28)
 *       L23-L40 conv4_x (14x14) | L41-L49 conv5_x (7x7)
 *     Inside each bottleneck block: 1x1 reduce, 3x3, 1x1 expand; so
 *     L3 = 3x3 64->64 at 56x56, L15 = 3x3 128->128 at 28x28, L16 = 1x1 128->512.
 *   - VGG-16: L1-L13, the 13 3x3 convolutions (pad 1).
 *   - AlexNet: L1-L5 (single-tower, 227x227 input).
 */
#include "conv_layers.h"

#include <string.h>

#define MAX_LAYERS 96

static struct conv_layer table[MAX_LAYERS];
static int table_len;

static void add(const char *name, const char *desc, int h, int w, int c, int k, int s, int p, int out)
{
    struct conv_layer *l = &table[table_len++];
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->desc, sizeof l->desc, "%s", desc);
    l->h = h; l->w = w; l->c = c; l->k = k; l->s = s; l->p = p; l->out = out;
}

static void build_resnet50(void)
{
    /* stage: input size, blocks, bottleneck width, input channels of block 1 */
    static const struct { int size_in, blocks, width, c_in; } stages[4] = {
        {56, 3, 64, 64}, {56, 4, 128, 256}, {28, 6, 256, 512}, {14, 3, 512, 1024},
    };
    char name[24], desc[40];
    int n = 1;
    add("resnet50.L1", "conv1, 7x7/2", 224, 224, 3, 7, 2, 3, 64);
    for (int st = 0; st < 4; ++st) {
        int width = stages[st].width, expand = 4 * width;
        int first_stride = st == 0 ? 1 : 2;
        int size = stages[st].size_in / first_stride;  /* spatial size inside the stage */
        for (int b = 0; b < stages[st].blocks; ++b) {
            int c_in = b == 0 ? stages[st].c_in : expand;
            int s = b == 0 ? first_stride : 1;
            int in_size = b == 0 ? stages[st].size_in : size;
            snprintf(name, sizeof name, "resnet50.L%d", ++n);
            snprintf(desc, sizeof desc, "conv%d_x block %d, 1x1 reduce%s", st + 2, b + 1, s == 2 ? " /2" : "");
            add(name, desc, in_size, in_size, c_in, 1, s, 0, width);
            snprintf(name, sizeof name, "resnet50.L%d", ++n);
            snprintf(desc, sizeof desc, "conv%d_x block %d, 3x3", st + 2, b + 1);
            add(name, desc, size, size, width, 3, 1, 1, width);
            snprintf(name, sizeof name, "resnet50.L%d", ++n);
            snprintf(desc, sizeof desc, "conv%d_x block %d, 1x1 expand", st + 2, b + 1);
            add(name, desc, size, size, width, 1, 1, 0, expand);
        }
    }
    for (int st = 0; st < 4; ++st) {
        int first_stride = st == 0 ? 1 : 2;
        snprintf(name, sizeof name, "resnet50.P%d", st + 2);
        snprintf(desc, sizeof desc, "conv%d_x projection shortcut%s", st + 2, first_stride == 2 ? " /2" : "");
        add(name, desc, stages[st].size_in, stages[st].size_in, stages[st].c_in, 1, first_stride, 0,
            4 * stages[st].width);
    }
}

static void build_vgg16(void)
{
    static const struct { int size, c_in, out; } convs[13] = {
        {224, 3, 64}, {224, 64, 64}, {112, 64, 128}, {112, 128, 128},
        {56, 128, 256}, {56, 256, 256}, {56, 256, 256},
        {28, 256, 512}, {28, 512, 512}, {28, 512, 512},
        {14, 512, 512}, {14, 512, 512}, {14, 512, 512},
    };
    static const char *block[13] = {"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2",
                                    "conv3_3", "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2",
                                    "conv5_3"};
    char name[24];
    for (int i = 0; i < 13; ++i) {
        snprintf(name, sizeof name, "vgg16.L%d", i + 1);
        add(name, block[i], convs[i].size, convs[i].size, convs[i].c_in, 3, 1, 1, convs[i].out);
    }
}

static void build_alexnet(void)
{
    add("alexnet.L1", "conv1, 11x11/4", 227, 227, 3, 11, 4, 0, 96);
    add("alexnet.L2", "conv2, 5x5", 27, 27, 96, 5, 1, 2, 256);
    add("alexnet.L3", "conv3, 3x3", 13, 13, 256, 3, 1, 1, 384);
    add("alexnet.L4", "conv4, 3x3", 13, 13, 384, 3, 1, 1, 384);
    add("alexnet.L5", "conv5, 3x3", 13, 13, 384, 3, 1, 1, 256);
}

const struct conv_layer *conv_layers(int *count)
{
    if (!table_len) {
        build_resnet50();
        build_vgg16();
        build_alexnet();
    }
    *count = table_len;
    return table;
}

const struct conv_layer *conv_layer_find(const char *name)
{
    int n;
    const struct conv_layer *t = conv_layers(&n);
    for (int i = 0; i < n; ++i)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

void conv_layers_print(FILE *f)
{
    int n;
    const struct conv_layer *t = conv_layers(&n);
    fprintf(f, "# Lk = k-th convolution of the network in execution order (from 1).\n"
               "# resnet50: the 49 convs of the canonical 50-layer count (v1, stride in the first 1x1);\n"
               "#           projection shortcuts listed separately as resnet50.P2..P5.\n"
               "# input is HxWxC; out = default (unpruned) output channels.\n");
    fprintf(f, "%-14s %-13s %6s %6s %4s %4s %s\n", "layer", "input", "kernel", "stride", "pad", "out",
            "description");
    for (int i = 0; i < n; ++i) {
        char in[24];
        snprintf(in, sizeof in, "%dx%dx%d", t[i].h, t[i].w, t[i].c);
        fprintf(f, "%-14s %-13s %6d %6d %4d %4d %s\n", t[i].name, in, t[i].k, t[i].s, t[i].p, t[i].out,
                t[i].desc);
    }
}
