/**
 * @file export.h
 * @brief Symbol visibility macro. Every exported function carries SUSHI_API.
 */
#ifndef SUSHI_EXPORT_H
#define SUSHI_EXPORT_H

#if defined(SUSHI_BUILDING_LIBRARY) && defined(__GNUC__)
#define SUSHI_API __attribute__((visibility("default")))
#else
#define SUSHI_API
#endif

#endif
