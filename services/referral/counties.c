/*
 * The 58 California counties as data: how each runs CCS and who reviews its cases.
 *
 * BEST KNOWLEDGE, NOT AN OFFICIAL LIST (DOMAIN.md section 5 marks it OPEN): an operator should
 * replace this table with the State's current list. What it encodes:
 * - code: the 2-digit California county code (alphabetical order, 01 Alameda ... 58 Yuba);
 * - population: 2020 census counts, as best remembered [K];
 * - model: INDEPENDENT when population > 200,000, else DEPENDENT [S: the threshold];
 * - office: a dependent county's medical review is done by a State CCS Regional Office. Only
 *   Imperial -> Southern California is sourced (the Imperial County seed); the other
 *   assignments follow geography (north and Sierra -> Sacramento; north coast, Bay Area
 *   fringe and central coast -> San Francisco; south-east -> Southern California) [K].
 * tests/unit/referral checks the table's shape (58 rows, sorted, unique codes, the 200,000
 * rule, every dependent county has a regional office), not the facts.
 */
#include "referral_rules.h"

#define IND CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_INDEPENDENT
#define DEP CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_DEPENDENT
#define OFFICE(o) CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_##o

const ccs_ref_county ccs_ref_counties[] = {
	{"Alameda", "01", 1682353, IND, OFFICE(COUNTY)},
	{"Alpine", "02", 1204, DEP, OFFICE(SACRAMENTO)},
	{"Amador", "03", 40474, DEP, OFFICE(SACRAMENTO)},
	{"Butte", "04", 211632, IND, OFFICE(COUNTY)},
	{"Calaveras", "05", 45292, DEP, OFFICE(SACRAMENTO)},
	{"Colusa", "06", 21839, DEP, OFFICE(SACRAMENTO)},
	{"Contra Costa", "07", 1165927, IND, OFFICE(COUNTY)},
	{"Del Norte", "08", 27743, DEP, OFFICE(SAN_FRANCISCO)},
	{"El Dorado", "09", 191185, DEP, OFFICE(SACRAMENTO)},
	{"Fresno", "10", 1008654, IND, OFFICE(COUNTY)},
	{"Glenn", "11", 28917, DEP, OFFICE(SACRAMENTO)},
	{"Humboldt", "12", 136463, DEP, OFFICE(SAN_FRANCISCO)},
	{"Imperial", "13", 179702, DEP, OFFICE(SOUTHERN_CALIFORNIA)},
	{"Inyo", "14", 19016, DEP, OFFICE(SOUTHERN_CALIFORNIA)},
	{"Kern", "15", 909235, IND, OFFICE(COUNTY)},
	{"Kings", "16", 152486, DEP, OFFICE(SOUTHERN_CALIFORNIA)},
	{"Lake", "17", 68163, DEP, OFFICE(SAN_FRANCISCO)},
	{"Lassen", "18", 32730, DEP, OFFICE(SACRAMENTO)},
	{"Los Angeles", "19", 10014009, IND, OFFICE(COUNTY)},
	{"Madera", "20", 156255, DEP, OFFICE(SAN_FRANCISCO)},
	{"Marin", "21", 262321, IND, OFFICE(COUNTY)},
	{"Mariposa", "22", 17131, DEP, OFFICE(SAN_FRANCISCO)},
	{"Mendocino", "23", 91601, DEP, OFFICE(SAN_FRANCISCO)},
	{"Merced", "24", 281202, IND, OFFICE(COUNTY)},
	{"Modoc", "25", 8700, DEP, OFFICE(SACRAMENTO)},
	{"Mono", "26", 13195, DEP, OFFICE(SOUTHERN_CALIFORNIA)},
	{"Monterey", "27", 439035, IND, OFFICE(COUNTY)},
	{"Napa", "28", 138019, DEP, OFFICE(SAN_FRANCISCO)},
	{"Nevada", "29", 102241, DEP, OFFICE(SACRAMENTO)},
	{"Orange", "30", 3186989, IND, OFFICE(COUNTY)},
	{"Placer", "31", 404739, IND, OFFICE(COUNTY)},
	{"Plumas", "32", 19790, DEP, OFFICE(SACRAMENTO)},
	{"Riverside", "33", 2418185, IND, OFFICE(COUNTY)},
	{"Sacramento", "34", 1585055, IND, OFFICE(COUNTY)},
	{"San Benito", "35", 64209, DEP, OFFICE(SAN_FRANCISCO)},
	{"San Bernardino", "36", 2181654, IND, OFFICE(COUNTY)},
	{"San Diego", "37", 3298634, IND, OFFICE(COUNTY)},
	{"San Francisco", "38", 873965, IND, OFFICE(COUNTY)},
	{"San Joaquin", "39", 779233, IND, OFFICE(COUNTY)},
	{"San Luis Obispo", "40", 282424, IND, OFFICE(COUNTY)},
	{"San Mateo", "41", 764442, IND, OFFICE(COUNTY)},
	{"Santa Barbara", "42", 448229, IND, OFFICE(COUNTY)},
	{"Santa Clara", "43", 1936259, IND, OFFICE(COUNTY)},
	{"Santa Cruz", "44", 270861, IND, OFFICE(COUNTY)},
	{"Shasta", "45", 182155, DEP, OFFICE(SACRAMENTO)},
	{"Sierra", "46", 3236, DEP, OFFICE(SACRAMENTO)},
	{"Siskiyou", "47", 44076, DEP, OFFICE(SACRAMENTO)},
	{"Solano", "48", 453491, IND, OFFICE(COUNTY)},
	{"Sonoma", "49", 488863, IND, OFFICE(COUNTY)},
	{"Stanislaus", "50", 552878, IND, OFFICE(COUNTY)},
	{"Sutter", "51", 99633, DEP, OFFICE(SACRAMENTO)},
	{"Tehama", "52", 65829, DEP, OFFICE(SACRAMENTO)},
	{"Trinity", "53", 16112, DEP, OFFICE(SACRAMENTO)},
	{"Tulare", "54", 473117, IND, OFFICE(COUNTY)},
	{"Tuolumne", "55", 55620, DEP, OFFICE(SACRAMENTO)},
	{"Ventura", "56", 843843, IND, OFFICE(COUNTY)},
	{"Yolo", "57", 216403, IND, OFFICE(COUNTY)},
	{"Yuba", "58", 81575, DEP, OFFICE(SACRAMENTO)},
};

const size_t ccs_ref_counties_count = sizeof(ccs_ref_counties) / sizeof(ccs_ref_counties[0]);
