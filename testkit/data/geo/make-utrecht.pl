#!/usr/bin/perl
# Writes utrecht.mmdb: the seed's secure-message example (NL / Provincie Utrecht / Utrecht) as a
# GeoIP2-City-shaped MaxMind DB, for Tessera's geolocation tests.
#
#   perl make-utrecht.pl [output]      (default: utrecht.mmdb beside this script)
#
# Needs Debian's libmaxmind-db-writer-perl. 145.100.0.0/16 is an ordinary public (SURFnet)
# block, in no special-purpose registry range, so Tessera's is_public() lets it be looked up.
use strict;
use warnings;
use File::Basename qw(dirname);
use MaxMind::DB::Writer::Tree;

my $out = $ARGV[0] // dirname(__FILE__) . '/utrecht.mmdb';

my %types = (
    city         => 'map',
    country      => 'map',
    subdivisions => [ 'array', 'map' ],
    names        => 'map',
    en           => 'utf8_string',
    nl           => 'utf8_string',
    iso_code     => 'utf8_string',
    geoname_id   => 'uint32',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 28,
    database_type         => 'GeoIP2-City',
    languages             => [ 'en', 'nl' ],
    description           => { en => 'Tessera test data: the seed example, Utrecht (NL)' },
    map_key_type_callback => sub { $types{ $_[0] } },
    # Store IPv4 in ::/96 as MaxMind's own databases do, reachable through IPv4 lookups.
    alias_ipv6_to_ipv4    => 1,
    remove_reserved_networks => 1,
);

$tree->insert_network(
    '145.100.0.0/16',
    {
        country => {
            iso_code   => 'NL',
            geoname_id => 2750405,
            names      => { en => 'Netherlands', nl => 'Nederland' },
        },
        subdivisions => [
            {
                iso_code   => 'UT',
                geoname_id => 2745909,
                names      => { en => 'Provincie Utrecht', nl => 'Utrecht' },
            },
        ],
        city => { geoname_id => 2745912, names => { en => 'Utrecht', nl => 'Utrecht' } },
    }
);

open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out: $!\n";
