/* conv_layers.h: the built-in table of convolution layers (ResNet-50, VGG-16, AlexNet). */
#ifndef CONV_LAYERS_H
#define CONV_LAYERS_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct conv_layer {
    char name[24];      /* e.g. "resnet50.L16" */
    char desc[40];      /* where it sits in the network, e.g. "conv3_x block 2, 1x1 reduce" */
    int h, w, c;        /* input H x W x C */
    int k, s, p;        /* square kernel, stride, zero padding */
    int out;            /* default (unpruned) output channels */
};

/* The whole table (built on first use); *count receives its length. */
const struct conv_layer *conv_layers(int *count);

/* Exact-name lookup; NULL when unknown. */
const struct conv_layer *conv_layer_find(const char *name);

/* Print the table and the numbering convention (for --list-layers). */
void conv_layers_print(FILE *f);

#ifdef __cplusplus
}
#endif

#endif
