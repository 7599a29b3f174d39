"""HGVS notations of RAS/BRAF results (issue 12 part 1): every spelling of V600E is V600E; what cannot be read is 'not tested'."""

from __future__ import annotations

import pytest

from guidekg.ingest.variants import classify, parse_protein
from guidekg.namespaces import GK

BRAF, KRAS, NRAS = "HGNC:1097", "HGNC:6407", "HGNC:7989"


@pytest.mark.parametrize("text", ["p.Val600Glu", "p.(Val600Glu)", "NP_004324.2:p.Val600Glu", "p.V600E", "V600E",
                                  "NP_004324.2:p.(Val600Glu)", " p.val600glu "])
def test_every_spelling_of_braf_v600e_is_v600e(text):
    reading = classify(BRAF, True, [text], [])
    assert reading.individual == str(GK.BRAF_V600E), text


def test_cdna_change_with_known_consequence_is_v600e():
    # NM_004333.4:c.1799T>A is given with p.(Val600Glu) in the MII test data (variants.csv source)
    assert classify(BRAF, True, [], ["NM_004333.4:c.1799T>A"]).individual == str(GK.BRAF_V600E)


@pytest.mark.parametrize("protein,cdna", [([], []), (["BRAF mutated"], []), (["p.?"], []), ([], ["c.1798G>A"])])
def test_braf_present_without_interpretable_change_is_not_tested(protein, cdna):
    reading = classify(BRAF, True, protein, cdna)
    assert reading.individual is None and "not tested" in reading.note


def test_braf_silent_change_is_not_non_v600e():
    assert classify(BRAF, True, ["p.Val600="], []).individual is None


def test_other_braf_change_is_non_v600e():
    assert classify(BRAF, True, ["p.Gly469Ala"], []).individual == str(GK.BRAF_NonV600E)
    assert classify(BRAF, True, ["p.V600K"], []).individual == str(GK.BRAF_NonV600E)


def test_wrong_reference_amino_acid_is_not_tested():
    assert classify(BRAF, True, ["p.Gly600Glu"], []).individual is None


@pytest.mark.parametrize("gene,change,value", [
    (KRAS, "p.Gly12Asp", GK.KRAS_Mutant), (KRAS, "p.G13D", GK.KRAS_Mutant), (KRAS, "p.Ala59Thr", GK.KRAS_Mutant),
    (KRAS, "p.Gln61His", GK.KRAS_Mutant), (KRAS, "p.Lys117Asn", GK.KRAS_Mutant), (KRAS, "p.(Ala146Thr)", GK.KRAS_Mutant),
    (NRAS, "p.Q61K", GK.NRAS_Mutant), (NRAS, "NP_002515.1:p.Gly12Asp", GK.NRAS_Mutant)])
def test_ras_codons_of_exons_2_to_4_are_mutant(gene, change, value):
    assert classify(gene, True, [change], []).individual == str(value)


def test_ras_change_outside_the_guideline_codons_is_not_tested():
    reading = classify(KRAS, True, ["p.Leu19Phe"], [])
    assert reading.individual is None and "12, 13, 59, 61, 117, 146" in reading.note


def test_absence_of_one_named_ras_change_is_not_wildtype():
    assert classify(KRAS, False, ["p.Gly12Cys"], [], str(GK.KRAS_Wildtype)).individual is None
    assert classify(KRAS, False, [], [], str(GK.KRAS_Wildtype)).individual == str(GK.KRAS_Wildtype)


def test_no_present_absent_answer_is_not_tested():
    assert classify(BRAF, None, ["p.V600E"], []).individual is None


def test_parse_keeps_codon_and_amino_acids():
    change = parse_protein("NP_004324.2:p.(Val600Glu)")
    assert (change.codon, change.ref, change.alt) == (600, "V", "E")


@pytest.mark.parametrize("regions,value", [(["Exon 2"], GK.KRAS_Exon2WildtypeOnly), (["exons 2-4"], GK.KRAS_Wildtype),
                                           (["Exon 2", "Exon 3", "Exon 4"], GK.KRAS_Wildtype), ([], GK.KRAS_Wildtype)])
def test_kras_absent_reads_the_exons_it_covers(regions, value):
    assert classify(KRAS, False, [], [], str(GK.KRAS_Wildtype), regions).individual == str(value)


@pytest.mark.parametrize("gene,regions", [(KRAS, ["Exon 3"]), (NRAS, ["Exon 2"]), (BRAF, ["Exon 11"])])
def test_absent_over_too_few_exons_is_not_wildtype(gene, regions):
    assert classify(gene, False, [], [], "absent-default", regions).individual is None
